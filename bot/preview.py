"""Plain-text renderings for the terminal: decisions, tickets, and the engineers' channel preview.

Slack gets Block Kit from `bot/render.py`; this is the same information for a person at a shell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from escalation.models import Ticket, TicketEvent
from knowledge.decision import Decision, Outcome, confidence_text


def format_decision(decision: Decision) -> str:
    lines = [f"{decision.outcome.value.upper()}: {decision.reason}"]
    if decision.outcome is Outcome.ANSWER and decision.article is not None:
        lines += [
            "",
            f"# {decision.article.title}  [{decision.article.id}]",
            "",
            decision.article.body.strip(),
        ]
    if decision.candidates:
        lines += ["", "Articles considered, best first (match score: ranks only):"]
        lines += [
            f"  {c.score:.3f}  {c.article.id}  ({c.article.title})" for c in decision.candidates[:5]
        ]
    return "\n".join(lines)


def considered(candidates: Sequence[dict[str, Any]], *, limit: int) -> list[str]:
    """A stored decision's articles, best first: the best with the decision's confidence, the
    only number shown, so that it reads as the reason does."""
    return [
        f"{c['id']} ({confidence_text(c['confidence'])})" if "confidence" in c else str(c["id"])
        for c in candidates[:limit]
    ]


def ticket_line(ticket: Ticket) -> str:
    created = ticket.created_at.strftime("%Y-%m-%d %H:%M")
    text = ticket.text if len(ticket.text) <= 60 else ticket.text[:57] + "..."
    return (
        f"#{ticket.id:<5} {ticket.status:<12} {ticket.severity:<8} {ticket.team:<10} "
        f"{created}  {ticket.reporter}: {text}"
    )


def ticket_details(ticket: Ticket, events: Sequence[TicketEvent]) -> str:
    lines = [
        f"Ticket #{ticket.id} — {ticket.status}",
        f"Reporter:  {ticket.reporter} (via {ticket.source})",
        f"Team:      {ticket.team}    Severity: {ticket.severity}",
        f"Opened:    {ticket.created_at.isoformat(timespec='seconds')}",
    ]
    if ticket.acknowledged_at:
        lines.append(
            f"Acked:     {ticket.acknowledged_at.isoformat(timespec='seconds')} "
            f"by {ticket.acknowledged_by}"
        )
    if ticket.resolved_at:
        lines.append(
            f"Resolved:  {ticket.resolved_at.isoformat(timespec='seconds')} by {ticket.resolved_by}"
        )
    lines += ["", "Report:", f"  {ticket.text}", "", f"Why escalated: {ticket.reason}"]
    if ticket.resolution:
        lines += ["", "Resolution:", f"  {ticket.resolution}"]
    if ticket.candidates:
        lines += ["", "Articles considered, best first:"]
        lines += [f"  {line}" for line in considered(ticket.candidates, limit=5)]
    lines += ["", "History:"]
    lines += [f"  {e.at.isoformat(timespec='seconds')}  {e.kind:<13} {e.actor}" for e in events]
    return "\n".join(lines)


def escalation_preview(ticket: Ticket) -> str:
    """What the engineers' channel receives, as text."""
    shown = ", ".join(considered(ticket.candidates, limit=3)) or "none"
    return "\n".join(
        [
            "┌─ #engineers ─────────────────────────────────────────────",
            f"│ Ticket #{ticket.id} · severity {ticket.severity} · team {ticket.team}",
            f"│ From {ticket.reporter}: “{ticket.text}”".replace("\n", "\n│   "),
            f"│ Why: {ticket.reason}",
            f"│ Bot considered: {shown}",
            "│ [Acknowledge]  [Resolve]  [Reassign]",
            "└──────────────────────────────────────────────────────────",
        ]
    )
