"""Escalation timers: each ticket's due policy step, stored, claimed, run once, and followed.

`start_escalation` stores a ticket's first step in the transaction that opens the ticket, so a
ticket never exists without its escalation. `run_due` then runs due steps, each in a transaction
of its own that locks the step row (`FOR UPDATE SKIP LOCKED` on PostgreSQL, `BEGIN IMMEDIATE` on
SQLite, as the outbox claims), drops it if the ticket was acknowledged or resolved meanwhile,
enqueues its pages in the outbox, and inserts the next step: a crash before the commit leaves
the step due for another try, and a commit leaves it done, so no replica pages anyone twice and
a restart carries on where the last process stopped. Who is on call is read when a step runs,
so an override made meanwhile counts. Nothing here words a page: the caller's `compose` does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from escalation import outbox
from escalation.clock import Clock
from escalation.db import session as unit_of_work
from escalation.models import EscalationStep, StepStatus, Ticket, TicketStatus
from escalation.oncall import active_overrides
from escalation.policy import Step, Target, policy_for
from escalation.schedule import OncallSchedule, Override, who_is_on_call
from escalation.worker import DueWorker, Work, claim_each_due, note_queued
from knowledge.article import Severity

log = logging.getLogger(__name__)

BATCH = 20
"""Steps a worker runs per wake-up; a full batch means more are due, so it goes on at once."""
RETRY_AFTER = timedelta(minutes=1)
"""A step that failed (a bug, the database away mid-step) is tried again this much later."""


@dataclass(frozen=True)
class Page:
    """What one step does, for `compose` to word: DM `users`, and/or `@here` in `channel`.

    `thread_ts` is the ticket's message in `channel` when it is known; `paged_before` are the
    people earlier steps paged, who did not acknowledge.
    """

    ticket_id: int
    team: str
    severity: Severity
    reporter: str
    report: str
    step: str
    users: tuple[str, ...]
    broadcast: bool
    channel: str
    thread_ts: str | None
    paged_before: tuple[str, ...]
    minutes_open: int


Compose = Callable[[Page], list[dict[str, Any]]]
"""A page's `chat.postMessage` arguments, one dict per message."""


def start_escalation(
    session: Session,
    ticket: Ticket,
    schedule: OncallSchedule,
    overrides: Iterable[Override],
    clock: Clock,
) -> EscalationStep | None:
    """Freeze the team's policy into `ticket` and make its first step due now.

    None when the ticket's team is not in the schedule: its message in the engineers' channel is
    then all the escalation there is. The first step's people are stored at once (for
    `paged_users`); the worker reads the schedule again when it sends the page.
    """
    team = schedule.team(ticket.team or "")
    if team is None or ticket.id is None:
        log.info("ticket %s: team %r has no on-call schedule; nobody paged", ticket.id, ticket.team)
        return None
    steps = policy_for(team, ticket.severity)
    now = clock.now()
    users = _on_call(schedule, team.name, steps[0], now, tuple(overrides))
    row = _step_row(ticket.id, 0, team.name, steps, now, users)
    session.add(row)
    session.flush()
    note_queued(session, Work.ESCALATION)
    return row


def paged_users(session: Session, ticket_id: int) -> list[str]:
    """Everyone the ticket's escalation paged (or is paging now), first paged first."""
    query = (
        select(EscalationStep)
        .where(col(EscalationStep.ticket_id) == ticket_id)
        .where(col(EscalationStep.status) != StepStatus.DROPPED)
        .order_by(col(EscalationStep.position))
    )
    seen: dict[str, None] = {}
    for row in session.exec(query):
        seen.update(dict.fromkeys(row.users))
    return list(seen)


def pending_steps(session: Session) -> list[EscalationStep]:
    """Steps waiting to run, soonest first: for operators and tests."""
    query = select(EscalationStep).where(col(EscalationStep.status) == StepStatus.PENDING)
    return list(session.exec(query.order_by(col(EscalationStep.due_at), col(EscalationStep.id))))


def run_due(
    engine: Engine,
    clock: Clock,
    *,
    schedule: OncallSchedule,
    compose: Compose,
    channel: str,
    limit: int = BATCH,
) -> int:
    """Run up to `limit` due steps, one transaction each; returns how many were run or dropped.

    `channel` is where `@here` goes when neither the ticket's message nor its team names one.
    """
    return claim_each_due(
        engine,
        clock,
        _DUE,
        lambda s, row: _run_step(s, row, clock, schedule, compose, channel),
        any_due=_ANY_DUE,
        postpone=lambda step_id, until: _postpone(engine, step_id, until),
        retry=RETRY_AFTER,
        what="escalation step {}",
        limit=limit,
    )


def _postpone(engine: Engine, step_id: int, until: datetime) -> None:
    """Move a failing step back, so one bad step cannot hold up every ticket behind it."""
    with unit_of_work(engine) as s:
        row = s.get(EscalationStep, step_id, with_for_update=True)
        if row is not None and row.status is StepStatus.PENDING:
            row.due_at = until
            s.add(row)


def _due_query() -> SelectOfScalar[EscalationStep]:
    """Built once, with the parameter `now` (building it cost more than running it)."""
    return (
        select(EscalationStep)
        .where(col(EscalationStep.status) == StepStatus.PENDING)
        .where(col(EscalationStep.due_at) <= sa.bindparam("now"))
        .order_by(col(EscalationStep.due_at), col(EscalationStep.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )


_DUE = _due_query()
_ANY_DUE = (
    sa.select(col(EscalationStep.id))
    .where(col(EscalationStep.status) == StepStatus.PENDING)
    .where(col(EscalationStep.due_at) <= sa.bindparam("now"))
    .limit(1)
)


def _run_step(
    s: Session,
    row: EscalationStep,
    clock: Clock,
    schedule: OncallSchedule,
    compose: Compose,
    default_channel: str,
) -> None:
    now = clock.now()
    ticket = s.get(Ticket, row.ticket_id)
    row.done_at = now
    if ticket is None or ticket.status is not TicketStatus.OPEN:
        row.status = StepStatus.DROPPED
        s.add(row)
        s.flush()
        return
    step = Step(row.name, tuple(Target(t) for t in row.notify), row.wait_minutes)
    overrides = tuple(active_overrides(s, row.team, now))
    users = _on_call(schedule, row.team, step, now, overrides)
    broadcast = Target.CHANNEL in step.notify
    if users or broadcast:
        page = _page(s, ticket, row, step, users, schedule, default_channel, now)
        for number, args in enumerate(compose(page)):
            key = f"escalation:{ticket.id}:{row.position}:{number}"
            outbox.enqueue(s, method="chat.postMessage", args=args, clock=clock, key=key)
    else:
        log.warning("ticket %s: nobody on call for %s of %s", ticket.id, step.name, row.team)
    row.users = list(users)
    row.status = StepStatus.DONE
    s.add(row)
    if row.rest:
        rest = [Step.from_json(item) for item in row.rest]
        due = now + timedelta(minutes=step.wait_minutes) if users or broadcast else now
        s.add(_step_row(row.ticket_id, row.position + 1, row.team, rest, due, (), created=now))
    s.flush()


def _page(
    s: Session,
    ticket: Ticket,
    row: EscalationStep,
    step: Step,
    users: tuple[str, ...],
    schedule: OncallSchedule,
    default_channel: str,
    now: datetime,
) -> Page:
    team = schedule.team(row.team)
    channel = ticket.slack_channel or (team.channel if team else None) or default_channel
    before = tuple(u for u in paged_users(s, row.ticket_id) if u not in users)
    return Page(
        ticket_id=ticket.id or 0,
        team=row.team,
        severity=ticket.severity,
        reporter=ticket.reporter,
        report=ticket.text,
        step=step.name,
        users=users,
        broadcast=Target.CHANNEL in step.notify,
        channel=channel,
        thread_ts=ticket.slack_ts if ticket.slack_channel == channel else None,
        paged_before=before,
        minutes_open=int((now - ticket.created_at).total_seconds() // 60),
    )


def _on_call(
    schedule: OncallSchedule, team: str, step: Step, at: datetime, overrides: tuple[Override, ...]
) -> tuple[str, ...]:
    """The people `step` pages at `at`; a layer the team (no longer) has pages nobody."""
    found = schedule.team(team)
    users: dict[str, None] = {}
    for target in step.notify:
        if target is Target.CHANNEL or found is None or found.layer(target) is None:
            continue
        shift = who_is_on_call(schedule, team, target, at, overrides)
        if shift is not None:
            users[shift.user] = None
    return tuple(users)


def _step_row(
    ticket_id: int,
    position: int,
    team: str,
    steps: Iterable[Step],
    due: datetime,
    users: tuple[str, ...],
    *,
    created: datetime | None = None,
) -> EscalationStep:
    first, *rest = steps
    return EscalationStep(
        ticket_id=ticket_id,
        position=position,
        name=first.name,
        notify=[t.value for t in first.notify],
        wait_minutes=first.wait_minutes,
        rest=[step.to_json() for step in rest],
        team=team,
        status=StepStatus.PENDING,
        due_at=due,
        users=list(users),
        created_at=created or due,
    )


class EscalationWorker(DueWorker):
    """Runs the escalation steps that are due: pages, the channel-wide call, the next step."""

    name = "jethro-escalation"
    batch = BATCH

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        schedule: OncallSchedule,
        compose: Compose,
        channel: str,
        after: Callable[[], None] = lambda: None,
        poll_seconds: float = 1.0,
    ) -> None:
        super().__init__(engine, clock, after=after, poll_seconds=poll_seconds)
        self.schedule = schedule
        self.compose = compose
        self.channel = channel

    def run_due(self) -> int:
        return run_due(
            self.engine,
            self.clock,
            schedule=self.schedule,
            compose=self.compose,
            channel=self.channel,
        )
