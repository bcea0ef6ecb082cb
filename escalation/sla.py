"""Service levels: how long a ticket took (or has taken so far) to be acknowledged and resolved.

Computed from the ticket's own timestamps whenever asked, never stored, so changing the targets
(`JETHRO_SLA_ACK_MINUTES`, `JETHRO_SLA_RESOLVE_HOURS`) re-judges every ticket at once. Pure: no
database, no Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from escalation.models import Ticket, TicketStatus

NEAR = 0.8
"""The share of a target after which a ticket is flagged as near its SLA."""


class SlaTargets(Protocol):
    """What `sla_state` needs of the settings (`bot.config.Settings` has it)."""

    @property
    def sla_ack_minutes(self) -> int: ...

    @property
    def sla_resolve_hours(self) -> int: ...


class SlaState(StrEnum):
    """Stored nowhere, but shown and compared: explicit strings."""

    OK = "ok"
    NEAR = "near"
    PAST = "past"


@dataclass(frozen=True)
class SlaReading:
    """The worst clock still running (or `met`), for the ticket message's flag."""

    state: SlaState
    what: str
    """`acknowledge` or `resolve`: which target the state is about."""
    elapsed: timedelta
    target: timedelta


def time_to_acknowledge(ticket: Ticket) -> timedelta | None:
    """None while nobody has acknowledged it (a ticket resolved at once never is)."""
    if ticket.acknowledged_at is None:
        return None
    return ticket.acknowledged_at - ticket.created_at


def time_to_resolve(ticket: Ticket) -> timedelta | None:
    if ticket.resolved_at is None:
        return None
    return ticket.resolved_at - ticket.created_at


def sla_reading(ticket: Ticket, now: datetime, targets: SlaTargets) -> SlaReading:
    """The clock that matters now: acknowledging while open, resolving until resolved."""
    resolve = timedelta(hours=targets.sla_resolve_hours)
    if ticket.status is TicketStatus.RESOLVED:
        took = time_to_resolve(ticket) or timedelta()
        return SlaReading(_state(took, resolve, near=False), "resolve", took, resolve)
    elapsed = max(now - ticket.created_at, timedelta())
    resolving = SlaReading(_state(elapsed, resolve), "resolve", elapsed, resolve)
    if ticket.status is TicketStatus.OPEN:
        ack = timedelta(minutes=targets.sla_ack_minutes)
        acking = SlaReading(_state(elapsed, ack), "acknowledge", elapsed, ack)
        return max(acking, resolving, key=lambda reading: _RANK[reading.state])
    return resolving


def sla_state(ticket: Ticket, now: datetime, targets: SlaTargets) -> str:
    """`ok`, `near` (at least 80% of a target used) or `past`; for timers refreshing messages."""
    return sla_reading(ticket, now, targets).state.value


def next_sla_change(ticket: Ticket, now: datetime, targets: SlaTargets) -> datetime | None:
    """The first moment after `now` at which `sla_state` may read differently; None once resolved.

    "Past" starts a second after the target (it means strictly more), so a look at any boundary
    moves on to the next one.
    """
    if ticket.status is TicketStatus.RESOLVED:
        return None
    targets_now = [timedelta(hours=targets.sla_resolve_hours)]
    if ticket.status is TicketStatus.OPEN:
        targets_now.append(timedelta(minutes=targets.sla_ack_minutes))
    moments = [
        moment
        for target in targets_now
        for moment in (ticket.created_at + target * NEAR, ticket.created_at + target + PAST_MARGIN)
        if moment > now
    ]
    return min(moments, default=None)


PAST_MARGIN = timedelta(seconds=1)
_RANK = {SlaState.OK: 0, SlaState.NEAR: 1, SlaState.PAST: 2}


def _state(elapsed: timedelta, target: timedelta, *, near: bool = True) -> SlaState:
    if elapsed > target:
        return SlaState.PAST
    if near and elapsed >= target * NEAR:
        return SlaState.NEAR
    return SlaState.OK
