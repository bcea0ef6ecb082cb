"""Durations and `escalation.stats.Stats` as people read them: in `jethro stats` and on the
admins' App Home. Formatting only; the numbers come from `escalation.stats`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from escalation.stats import Stats, Times


def duration_text(length: timedelta) -> str:
    """`45 min`, `3 h 05 min`, `2 d 4 h`: for people, not for sorting."""
    minutes = int(length.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def times_text(times: Times) -> str:
    if times.median is None or times.p90 is None:
        return "no tickets yet"
    return (
        f"median {duration_text(times.median)}, p90 {duration_text(times.p90)} "
        f"({times.count} ticket{'s' if times.count != 1 else ''})"
    )


def share(part: int, whole: int) -> str:
    return f"{part * 100 // whole}%" if whole else "-"


def stats_text(stats: Stats, window: str) -> str:
    """The `jethro stats` report: the funnel, then one block per team."""
    lines = [
        f"Since {stats.since:%Y-%m-%d %H:%M} UTC (last {window})",
        f"  reports     {stats.reports}",
        f"  answered    {stats.answered} ({share(stats.answered, stats.reports)})",
        f"  deflected   {stats.deflected} (confirmed solved)",
        f"  suggested   {stats.suggested} ({share(stats.suggested, stats.reports)})",
        f"  escalated   {stats.escalated}" + _joined(stats.joined),
        f"  time to acknowledge  {times_text(stats.acknowledge)}",
        f"  time to resolve      {times_text(stats.resolve)}",
    ]
    for team in stats.teams:
        lines += [
            f"{team.team}: {team.escalated} escalated{_joined(team.joined)}, "
            f"{team.unresolved} not resolved",
            f"  time to acknowledge  {times_text(team.acknowledge)}",
            f"  time to resolve      {times_text(team.resolve)}",
        ]
    return "\n".join(lines)


def _joined(count: int) -> str:
    """Storms: the reports that joined those tickets rather than opening more."""
    return f" (+{count} report{'s' if count != 1 else ''} joined them)" if count else ""


def home_figures(stats: Stats, window: str) -> dict[str, Any]:
    """What `home.j2` shows admins: the same figures as `jethro stats`."""
    return {
        "window": window,
        "reports": stats.reports,
        "answered": stats.answered,
        "deflected": stats.deflected,
        "suggested": stats.suggested,
        "escalated": stats.escalated,
        "acknowledge": times_text(stats.acknowledge),
        "resolve": times_text(stats.resolve),
        "teams": [
            {
                "team": team.team,
                "escalated": team.escalated,
                "unresolved": team.unresolved,
                "acknowledge": times_text(team.acknowledge),
                "resolve": times_text(team.resolve),
            }
            for team in stats.teams
        ],
    }
