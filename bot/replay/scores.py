"""What a replay measured, per window of reports and overall (`jethro kb replay`'s output).

The rates are `jethro kb eval`'s: answered precision is right answers over answers, deflection
right answers over reports whose label is not "oos", out-of-scope recall the "oos" reports not
answered. A pick from the suggestions is no answer: the employee had to choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.evaluate import OOS


@dataclass(frozen=True)
class Judged:
    """One replayed report: how it was judged (before anything was learned from it), and what
    the people's reactions to it taught."""

    label: str
    answered: str | None
    """The article it was answered with, or None (suggestions, or a person)."""
    escalated: bool
    learned: int
    """Examples stored while it was handled (a Solved, a pick, an engineer naming an article)."""
    published: int
    """Articles an admin published right after it."""

    @property
    def right(self) -> bool:
        return self.label != OOS and self.answered == self.label


def scores(judged: Sequence[Judged]) -> dict[str, object]:
    """One entry of the JSON: `reports`, `answered_precision`, `deflection`, `oos_recall`
    (None without an "oos" report), `escalated`, `learned`, `published`, and the counts the
    rates are made of (`answered`, `right`, `in_scope`, `oos`, `oos_kept`), so that windows
    add up into longer ones."""
    answered = [j for j in judged if j.answered is not None]
    in_scope = [j for j in judged if j.label != OOS]
    oos = [j for j in judged if j.label == OOS]
    right = sum(j.right for j in judged)
    kept = sum(j.answered is None for j in oos)
    return {
        "reports": len(judged),
        "answered_precision": _rate(right, len(answered)),
        "deflection": _rate(right, len(in_scope)),
        "oos_recall": _rate(kept, len(oos)),
        "escalated": sum(j.escalated for j in judged),
        "learned": sum(j.learned for j in judged),
        "published": sum(j.published for j in judged),
        "answered": len(answered),
        "right": right,
        "in_scope": len(in_scope),
        "oos": len(oos),
        "oos_kept": kept,
    }


def report_json(judged: Sequence[Judged], window: int) -> dict[str, object]:
    """`{"windows": [...], "overall": {...}}`, windows of `window` reports in stream order."""
    windows = [scores(judged[i : i + window]) for i in range(0, len(judged), window)]
    return {"windows": windows, "overall": scores(judged)}


def report_text(report: dict[str, object]) -> str:
    """A line per window and one overall, for people."""
    header = (
        f"{'window':<12} {'reports':>7} {'answered':>8} {'precision':>9} {'deflection':>10} "
        f"{'oos recall':>10} {'escalated':>9} {'learned':>7} {'published':>9}"
    )
    lines = [header]
    windows = report["windows"]
    assert isinstance(windows, list)
    start = 1
    for entry in windows:
        end = start + int(entry["reports"]) - 1
        lines.append(_line(f"{start}-{end}", entry))
        start = end + 1
    overall = report["overall"]
    assert isinstance(overall, dict)
    lines.append(_line("overall", overall))
    return "\n".join(lines)


def _line(name: str, entry: dict[str, object]) -> str:
    return (
        f"{name:<12} {entry['reports']:>7} {entry['answered']:>8} "
        f"{_show(entry['answered_precision']):>9} {_show(entry['deflection']):>10} "
        f"{_show(entry['oos_recall']):>10} {entry['escalated']:>9} {entry['learned']:>7} "
        f"{entry['published']:>9}"
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _show(value: object) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
