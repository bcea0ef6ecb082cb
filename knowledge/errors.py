"""The errors Jethro raises on purpose: a known reason, worded for the person who must act.

Anything that is a `JethroError` may be shown verbatim to its audience; anything else is a bug
and goes to the log. It lives here, in the lowest layer that raises it (a bad query file, a
missing model), so `knowledge/` imports nothing of ours; `escalation.errors` builds on it.
"""

from __future__ import annotations


class JethroError(Exception):
    """A known business reason; its message is written to be shown as is."""
