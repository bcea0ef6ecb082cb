"""The words the lexical matcher indexes: splitting, stopwords, a light stemmer and char n-grams.

Kept free of any index state so that articles and reports are always cut the same way. Measured
on CLINC150 (`bench/matching_study.py`): the tiny stemmer adds about a point of top-1 accuracy,
dropping stopwords loses four ("my name" is not "your name"), so the matcher keeps them.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+")
_APOSTROPHE = re.compile("(?<=[a-z])['\u2019](?=[a-z])")

STOPWORDS = frozenset(
    """
    a an the and or but if then of to in on at by for with from into onto about as is am are was
    were be been being do does did doing have has had having i me my mine myself we us our ours you
    your yours he him his she her hers it its they them their theirs this that these those there
    here what which who whom whose when where why how can could would should will shall may might
    must please tell know let lets get got just so too very also any some all up out over than
    im ive id ill youre whats thats theres hows dont doesnt didnt cant wont isnt arent
    """.split()  # noqa: SIM905 - a word list reads better as words
)


def words(text: str) -> list[str]:
    """Lowercased alphanumeric words; inner apostrophes are dropped so "don't" is "dont"."""
    return _WORD.findall(_APOSTROPHE.sub("", text.lower()))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip a plural or verb ending and a final "e", so "drops", "dropping" and "dropped" meet,
    as do "close", "closes", "closing" and "closed"."""
    if len(word) <= 3 or not word.isalpha():
        return word
    base = word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix):
            if len(word) - len(suffix) >= 3:
                base = word[: len(word) - len(suffix)] + replacement
            break
    if base != word and len(base) >= 4 and base[-1] == base[-2] and base[-1] not in "aeioulsz":
        base = base[:-1]
    if len(base) >= 5 and base.endswith("e"):
        base = base[:-1]
    return base


_SUFFIXES = (
    ("ies", "y"),
    ("sses", "ss"),
    ("ing", ""),
    ("ed", ""),
    ("es", "e"),
    ("ss", "ss"),
    ("us", "us"),
    ("is", "is"),
    ("s", ""),
)


def terms(tokens: list[str], *, stopwords: bool = True, stemming: bool = True) -> list[str]:
    """The index terms of a text's words, in order."""
    out = tokens
    if stopwords:
        out = [w for w in out if w not in STOPWORDS] or out
    return [stem(w) for w in out] if stemming else out


def char_ngrams(tokens: list[str], low: int, high: int) -> list[str]:
    """Character n-grams inside each word padded with spaces, so typos still share most grams."""
    grams: list[str] = []
    for token in tokens:
        padded = f" {token} "
        for n in range(low, high + 1):
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams
