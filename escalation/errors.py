"""The errors of tickets and the database; `JethroError` itself comes from `knowledge.errors`,
the lowest layer that raises it, and is re-exported here for the layers above."""

from __future__ import annotations

from knowledge.errors import JethroError

__all__ = [
    "DatabaseError",
    "JethroError",
    "TicketError",
    "TicketNotFoundError",
    "TicketPermissionError",
    "TicketStateError",
]


class DatabaseError(JethroError):
    """The database named by `DATABASE_URL` is malformed, unreachable or cannot be migrated."""


class TicketError(JethroError):
    """A ticket operation was refused."""


class TicketNotFoundError(TicketError):
    """There is no ticket with that number."""


class TicketStateError(TicketError):
    """The ticket's status does not allow the change (resolve twice, ack a resolved ticket)."""


class TicketPermissionError(TicketError):
    """The person may not make this change to this ticket."""
