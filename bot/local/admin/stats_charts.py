"""The admin view's charts of `escalation.stats`: what `jethro stats` counts, drawn per day and
per team."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from markupsafe import Markup

from bot.figures import duration_text
from bot.local.admin.charts import Series, bar_chart, line_chart
from escalation.stats import Day, Stats, Times

NO_REPORTS = "no reports yet"


def stats_charts(stats: Stats, days: Sequence[Day]) -> dict[str, Markup]:
    """By name: the names are the `/admin/charts/<name>.svg` addresses."""
    return {name: draw(stats, days) for name, draw in CHARTS.items()}


def reports_chart(stats: Stats, days: Sequence[Day]) -> Markup:
    return bar_chart(
        "Reports and deflections per day (UTC)",
        _day_labels(days),
        [
            Series("reports", [day.reports for day in days]),
            Series("deflected", [day.deflected for day in days]),
        ],
        empty=NO_REPORTS,
        short=_month_day,
    )


def deflection_chart(stats: Stats, days: Sequence[Day]) -> Markup:
    shares = [None if day.deflection is None else 100 * day.deflection for day in days]
    return line_chart(
        "Deflection per day: share of reports confirmed solved",
        _day_labels(days),
        [Series("deflected", shares)],
        empty=NO_REPORTS,
        value_text=_percent,
        axis_text=_percent,
        short=_month_day,
        top=100,
    )


def teams_chart(stats: Stats, days: Sequence[Day]) -> Markup:
    teams = stats.teams
    return bar_chart(
        "Escalations by team",
        [team.team for team in teams],
        [
            Series("escalated", [team.escalated for team in teams]),
            Series("not resolved", [team.unresolved for team in teams]),
        ],
        empty="no escalations yet",
    )


def acknowledge_chart(stats: Stats, days: Sequence[Day]) -> Markup:
    """Median and p90 per team, in minutes; a team without an acknowledgement is a gap."""
    teams = stats.teams
    return bar_chart(
        "Time to acknowledge by team (median and p90)",
        [team.team for team in teams],
        [
            Series("median", [_minutes(team.acknowledge, "median") for team in teams]),
            Series("p90", [_minutes(team.acknowledge, "p90") for team in teams]),
        ],
        empty="no acknowledged tickets yet",
        value_text=lambda minutes: duration_text(timedelta(minutes=minutes)),
        axis_text=lambda minutes: f"{minutes:g} min",
    )


CHARTS: dict[str, Callable[[Stats, Sequence[Day]], Markup]] = {
    "reports": reports_chart,
    "deflection": deflection_chart,
    "teams": teams_chart,
    "acknowledge": acknowledge_chart,
}


def _day_labels(days: Sequence[Day]) -> list[str]:
    return [day.day.isoformat() for day in days]


def _month_day(label: str) -> str:
    return label[5:]


def _minutes(times: Times, which: str) -> float | None:
    value: timedelta | None = getattr(times, which)
    return None if value is None else value.total_seconds() / 60


def _percent(value: float) -> str:
    return f"{value:.0f}%"
