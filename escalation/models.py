"""The database tables, and the column types they need to behave the same on SQLite and PostgreSQL.

Tables only: the rules for changing them live in `tickets.py` and `conversations.py`. A schema
change here needs a new migration in `migrations/versions/` (the tests fail until it matches).
Stored enum values are explicit strings kept in plain text columns, so adding a value is a code
change, not a migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from knowledge.article import Severity
from knowledge.decision import Outcome
from knowledge.learning.lessons import LessonKind, LessonSource

metadata = SQLModel.metadata
# Deterministic constraint names, so later migrations (SQLite batch mode included) can name them.
metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that goes in aware and comes back aware in UTC, on either database.

    SQLite has no time zones, so the value is stored as naive UTC there and the zone is put back
    on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: store aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class TextEnum(sa.TypeDecorator[E]):
    """A `StrEnum` stored as its value in a plain text column (no database enum type)."""

    impl = sa.String(32)
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class TicketStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class TicketEventKind(StrEnum):
    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    REASSIGNED = "reassigned"
    JOINED = "joined"
    """Another report of the same problem joined the ticket (a storm)."""


class Role(StrEnum):
    """Who spoke in a conversation turn."""

    EMPLOYEE = "employee"
    BOT = "bot"


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime(), nullable=nullable, index=index)


def _user(*, nullable: bool = False, index: bool = False) -> Any:
    """A user id: a Slack id (`U123`) or a local username."""
    return Field(default=None, sa_type=sa.String(255), nullable=nullable, index=index)


class Ticket(SQLModel, table=True):
    """An escalated report. `id` is the ticket number people see, so it is never reused."""

    __tablename__ = "ticket"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    reporter: str = _user(index=True)
    source: str = Field(sa_type=sa.String(32))
    text: str = Field(sa_type=sa.Text)
    status: TicketStatus = Field(
        default=TicketStatus.OPEN, sa_type=TextEnum(TicketStatus), index=True
    )
    severity: Severity = Field(default=Severity.NORMAL, sa_type=TextEnum(Severity))
    team: str | None = Field(default=None, sa_type=sa.String(64), index=True)
    article_id: str | None = Field(default=None, sa_type=sa.String(255))
    candidates: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    reason: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = _when()
    updated_at: datetime = _when()
    acknowledged_at: datetime | None = _when(nullable=True)
    acknowledged_by: str | None = _user(nullable=True)
    resolved_at: datetime | None = _when(nullable=True)
    resolved_by: str | None = _user(nullable=True)
    resolution: str | None = Field(default=None, sa_type=sa.Text)
    slack_channel: str | None = Field(default=None, sa_type=sa.String(255))
    """Where the engineers' message about this ticket is, once sent (for threads and updates)."""
    slack_ts: str | None = Field(default=None, sa_type=sa.String(32))
    sla_shown: str = Field(
        default="ok", sa_type=sa.String(16), sa_column_kwargs={"server_default": "ok"}
    )
    """The SLA state (`escalation.sla.SlaState`) the channel message last showed."""
    sla_check_at: datetime | None = _when(nullable=True, index=True)
    """When the SLA watch looks at this ticket next (`escalation/sla_watch.py`); None: never."""
    solved_by: str | None = Field(default=None, sa_type=sa.String(255), index=True)
    """What the resolving engineer said solved it: an article id, `knowledge.learning.NEW_PROBLEM`
    (no article covers it yet), or None (none needed, or not said)."""


class TicketEvent(SQLModel, table=True):
    """One change to a ticket, kept forever: the audit trail."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    kind: TicketEventKind = Field(sa_type=TextEnum(TicketEventKind))
    actor: str = _user()
    at: datetime = _when()
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


class TicketReport(SQLModel, table=True):
    """One report of a ticket's problem: the one that opened it, and each that joined it in a
    storm (`escalation/storms.py`). `topic` is the article the report was about, if the matcher
    was sure of one; storms compare it, and the text, with new reports."""

    __tablename__ = "ticket_report"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    reporter: str = _user(index=True)
    text: str = Field(sa_type=sa.Text)
    topic: str | None = Field(default=None, sa_type=sa.String(255))
    lead: str | None = Field(default=None, sa_type=sa.String(255))
    """The matcher's best candidate, sure or not: agreeing leads make a weaker text match do."""
    joined: bool = Field(default=False)
    """False for the report that opened the ticket."""
    conversation_key: str | None = Field(default=None, sa_type=sa.String(64))
    similarity: float | None = Field(default=None)
    """For a joined report: how alike it was (1.0 for the same article)."""
    reported_at: datetime = _when(index=True)


class StormLock(SQLModel, table=True):
    """One row per team, locked (upserted) by whoever is about to open or join one of its
    tickets, so two replicas looking for the same storm at once take turns."""

    __tablename__ = "storm_lock"

    team: str = Field(sa_type=sa.String(64), primary_key=True)
    touched_at: datetime = _when()


class ConversationTurn(SQLModel, table=True):
    """One message in a conversation, from the employee or from the bot."""

    __tablename__ = "conversation_turn"

    id: int | None = Field(default=None, primary_key=True)
    conversation_key: str = Field(sa_type=sa.String(255), index=True)
    user_id: str = _user(index=True)
    role: Role = Field(sa_type=TextEnum(Role))
    text: str = Field(sa_type=sa.Text)
    outcome: Outcome | None = Field(default=None, sa_type=TextEnum(Outcome))
    article_id: str | None = Field(default=None, sa_type=sa.String(255))
    confidence: float | None = Field(default=None)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    at: datetime = _when()


class Feedback(SQLModel, table=True):
    """Whether an answer solved the employee's problem: the signal for improving the KB."""

    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    conversation_key: str = Field(sa_type=sa.String(255), index=True)
    user_id: str = _user()
    article_id: str | None = Field(default=None, sa_type=sa.String(255), index=True)
    solved: bool
    comment: str = Field(default="", sa_type=sa.Text)
    at: datetime = _when()


class LearnedLesson(SQLModel, table=True):
    """A report learned as an example or counter-example of an article (`knowledge.learning`),
    with who taught it, when, and from which conversation and ticket. Every replica reads it."""

    __tablename__ = "learned_lesson"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    kind: LessonKind = Field(sa_type=TextEnum(LessonKind))
    article_id: str = Field(sa_type=sa.String(255), index=True)
    source: LessonSource = Field(sa_type=TextEnum(LessonSource))
    teacher: str = _user()
    text: str = Field(sa_type=sa.Text)
    conversation_key: str | None = Field(default=None, sa_type=sa.String(64), index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    confidence: float | None = Field(default=None)
    """The decision's confidence when the report was judged."""
    created_at: datetime = _when()


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxMessage(SQLModel, table=True):
    """One Slack Web API call to make, stored with the state change that caused it.

    `channel` is where Slack paces it (one message a second a channel) and orders it (FIFO by
    `id`). A worker claims it by setting `claimed_by` until `claimed_until` (a lease), so the
    claim of a worker that died runs out and another worker sends it. `id` is never reused
    (autoincrement), which keeps the FIFO order true after old rows are deleted.
    """

    __tablename__ = "outbox_message"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    key: str | None = Field(default=None, sa_type=sa.String(255), unique=True, nullable=True)
    method: str = Field(sa_type=sa.String(64))
    channel: str = Field(sa_type=sa.String(255), index=True)
    args: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    status: OutboxStatus = Field(
        default=OutboxStatus.PENDING, sa_type=TextEnum(OutboxStatus), index=True
    )
    after_sent: str | None = Field(default=None, sa_type=sa.String(64))
    ref: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    attempts: int = Field(default=0)
    created_at: datetime = _when()
    next_attempt_at: datetime = _when(index=True)
    attempted_at: datetime | None = _when(nullable=True)
    claimed_by: str | None = Field(default=None, sa_type=sa.String(255))
    claimed_until: datetime | None = _when(nullable=True)
    sent_at: datetime | None = _when(nullable=True)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    last_error: str | None = Field(default=None, sa_type=sa.Text)


class ThreadState(StrEnum):
    """Where a Slack conversation stands; the buttons and follow-ups read it."""

    ANSWERED = "answered"
    SUGGESTED = "suggested"
    SOLVED = "solved"
    ESCALATED = "escalated"


class SlackConversation(SQLModel, table=True):
    """One report in Slack and its thread: follow-ups and clicks find it by `key` or thread.

    `key` is the short opaque reference buttons carry. `thread_ts` is the thread's first message:
    the report itself, or (for `/triage` and the shortcut) the bot's first reply, filled in once
    it is sent. The decision is kept as it was made, so a click hours later acts on what was shown.
    """

    __tablename__ = "slack_conversation"
    __table_args__ = (
        sa.UniqueConstraint("channel", "thread_ts"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=sa.String(64), unique=True)
    reporter: str = _user(index=True)
    source: str = Field(sa_type=sa.String(32))
    channel: str = Field(sa_type=sa.String(255))
    thread_ts: str | None = Field(default=None, sa_type=sa.String(32))
    text: str = Field(sa_type=sa.Text)
    details: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    outcome: Outcome = Field(sa_type=TextEnum(Outcome))
    article_id: str | None = Field(default=None, sa_type=sa.String(255))
    confidence: float = Field(default=0.0)
    reason: str = Field(default="", sa_type=sa.Text)
    candidates: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    state: ThreadState = Field(sa_type=TextEnum(ThreadState), index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class SlackEvent(SQLModel, table=True):
    """An event already handled: Slack redelivers (`X-Slack-Retry-Num`), replicas share this."""

    __tablename__ = "slack_event"

    key: str = Field(sa_type=sa.String(255), primary_key=True)
    received_at: datetime = _when(index=True)


class SlackReceipt(SQLModel, table=True):
    """A request from Slack stored before it was acknowledged and not yet known to be handled.

    Written in the request's thread before the ack goes back (`bot/receipts.py`), deleted in the
    transaction of the work it causes. A row that outlives `claimed_until` belonged to a process
    that died or failed mid-way: a replica replays `body` through the app. `key` is the same as
    the `SlackEvent` key the work claims, so a replay of handled work changes nothing.
    """

    __tablename__ = "slack_receipt"

    key: str = Field(sa_type=sa.String(255), primary_key=True)
    body: str = Field(sa_type=sa.Text)
    """The raw request body as Slack signed it (JSON, or a form for commands and shortcuts)."""
    content_type: str = Field(sa_type=sa.String(64))
    received_at: datetime = _when()
    claimed_by: str = Field(sa_type=sa.String(64))
    claimed_until: datetime = _when(index=True)
    attempts: int = Field(default=0)


class OncallOverride(SQLModel, table=True):
    """Someone standing in for a layer's member for a while (`/oncall override @user 4h`).

    Rows are never edited: where overrides overlap, the one created last wins.
    """

    __tablename__ = "oncall_override"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(sa_type=sa.String(64), index=True)
    layer: str = Field(sa_type=sa.String(32))
    user_id: str = _user()
    starts_at: datetime = _when()
    ends_at: datetime = _when(index=True)
    created_by: str = _user()
    created_at: datetime = _when()


class StepStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    DROPPED = "dropped"
    """Not run: the ticket was acknowledged or resolved first."""


class EscalationStep(SQLModel, table=True):
    """One step of a ticket's escalation policy, due at `due_at` (see `escalation/timers.py`).

    The policy is frozen into the rows when the escalation starts: each row carries the steps
    still to come (`rest`), so a change to the on-call file never rewrites a running escalation.
    Running a step inserts the next one; `(ticket_id, position)` is unique, so two workers can
    never schedule, and so never send, the same step twice.
    """

    __tablename__ = "escalation_step"
    __table_args__ = (
        sa.UniqueConstraint("ticket_id", "position"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    position: int
    name: str = Field(sa_type=sa.String(32))
    notify: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    wait_minutes: int = Field(default=0)
    rest: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    team: str = Field(sa_type=sa.String(64))
    status: StepStatus = Field(default=StepStatus.PENDING, sa_type=TextEnum(StepStatus), index=True)
    due_at: datetime = _when(index=True)
    users: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    """Who this step pages: expected when scheduled, who really was once done."""
    created_at: datetime = _when()
    done_at: datetime | None = _when(nullable=True)
