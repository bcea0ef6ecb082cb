"""Plain-text renderings for the terminal: decisions, tickets, and the engineers' channel preview.

Slack gets Block Kit from `bot/render.py`; this is the same information for a person at a shell.
"""

from __future__ import annotations

from collections.abc import Sequence

from escalation.models import Ticket, TicketEvent
from knowledge.decision import Decision, Outcome


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
        lines += ["", "Candidates:"]
        lines += [
            f"  {c.score:.3f}  {c.article.id}  ({c.article.title})" for c in decision.candidates[:5]
        ]
    return "\n".join(lines)


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
        lines += ["", "Articles considered:"]
        lines += [f"  {c['score']:.3f}  {c['id']}  ({c['title']})" for c in ticket.candidates[:5]]
    lines += ["", "History:"]
    lines += [f"  {e.at.isoformat(timespec='seconds')}  {e.kind:<13} {e.actor}" for e in events]
    return "\n".join(lines)


def escalation_preview(ticket: Ticket) -> str:
    """What the engineers' channel receives, as text."""
    considered = ", ".join(f"{c['id']} {c['score']:.2f}" for c in ticket.candidates[:3]) or "none"
    return "\n".join(
        [
            "┌─ #engineers ─────────────────────────────────────────────",
            f"│ Ticket #{ticket.id} · severity {ticket.severity} · team {ticket.team}",
            f"│ From {ticket.reporter}: “{ticket.text}”",
            f"│ Why: {ticket.reason}",
            f"│ Bot considered: {considered}",
            "│ [Acknowledge]  [Resolve]  [Reassign]",
            "└──────────────────────────────────────────────────────────",
        ]
    )
