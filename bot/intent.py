"""What a message means before it is triaged: a reply's verdict on the fix, or a plea for help.

Pure: no Slack, no database. Deliberately cautious: only short, plain "it worked" replies count
as solved, and anything that says it is still broken wins over a "thanks" in the same message,
because wrongly closing a report costs more than asking once more.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Intent(StrEnum):
    SOLVED = "solved"
    NOT_SOLVED = "not_solved"
    DETAIL = "detail"


_NOT = r"(?:not|n'?t|nt)"
_NOT_SOLVED = re.compile(
    r"\b(?:"
    r"still\s+(?:broken|not|no|failing|happening|down|the\s+same|an?\s+(?:issue|problem)|"
    r"doesn|does\s+not|can|cannot|can'?t|won|isn|dropping|crashing|stuck|slow|there|same)"
    rf"|(?:did|does|do|is|was|has|have|had){_NOT}\s+(?:work|help|fix|solve|change|resolve|do)"
    r"|not\s+(?:fixed|solved|working|resolved|helpful|it)"
    r"|no\s+(?:luck|change|joy|difference|good)"
    r"|same\s+(?:problem|issue|error|thing)"
    r"|broken\s+again|happen(?:ed|s|ing)\s+again|back\s+again|came\s+back"
    r"|didnt|doesnt|nope|escalate|(?:need|want|talk\s+to)\s+(?:a\s+)?(?:human|person|engineer)"
    r")\b",
    re.IGNORECASE,
)
_SOLVED = re.compile(
    r"^\W*(?:thanks?|thank\s+you|thx|ty|cheers|great|perfect|awesome|yes|yay|ok|okay)?\W*"
    r"(?:that|this|it)?\s*(?:worked|works(?:\s+now)?|fixed\s+it|did\s+it|helped|solved\s+it|"
    r"is\s+fixed|is\s+solved|(?:all\s+)?sorted|all\s+good|fixed|solved)\b",
    re.IGNORECASE,
)
_SHORT = 12
"""Words: a longer reply is more likely a story ("it worked until ...") than a verdict."""


_HELP = frozenset({"", "?", "help", "hi", "hello", "hey", "hiya", "yo", "morning", "good morning"})
_COURTESY = re.compile(
    r"^(?:[\W_]|:[\w+-]+:)*(?:(?:thanks?|thank\s*(?:you|u)|thx|ty|cheers|ta|ok|okay|k|cool|great|"
    r"perfect|awesome|nice|got\s+it|will\s+do|much\s+appreciated|appreciated?)"
    r"(?:\s+(?:so\s+much|a\s+lot|very\s+much|again|all))*(?:[\W_]|:[\w+-]+:)*)+$",
    re.IGNORECASE,
)


def asks_for_help(text: str) -> bool:
    """A greeting or "help" is not a problem report: answer with how to use the bot."""
    return " ".join(text.lower().strip(" \t\n!.?,:").split()) in _HELP or text.strip() == "?"


def is_courtesy(text: str) -> bool:
    """A bare "thanks" or "ok" (emoji allowed): polite, never a problem to triage."""
    return bool(_COURTESY.match(text.strip()))


def reply_intent(text: str) -> Intent:
    """A bare "thanks" is DETAIL: people thank before they have tried the steps."""
    text = text.replace("\u2019", "'")  # Slack clients type curly apostrophes
    if _NOT_SOLVED.search(text):
        return Intent.NOT_SOLVED
    if len(text.split()) <= _SHORT and _SOLVED.search(text):
        return Intent.SOLVED
    return Intent.DETAIL
