"""The errors Jethro raises on purpose: a known reason, worded for the person who must act.

Anything that is a `JethroError` may be shown verbatim to its audience; anything else is a bug
and goes to the log.
"""

from __future__ import annotations


class JethroError(Exception):
    """A known business reason; its message is written to be shown as is."""


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
