"""Bar and line charts as inline SVG, rendered on the server.

Hand-written rather than a chart library: the admin view needs two kinds of chart, and a
hundred lines of SVG cost no dependency, no JavaScript and no build step. Every mark carries a
`<title>` (a tooltip, and what a screen reader says) and `data-` attributes naming its label,
series and value, so a test or a script can read a chart back. A chart with nothing to show
says so in words instead of drawing empty axes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 48, 36
FONT = 'font-family="system-ui, sans-serif" font-size="11" fill="#4a5568"'
LABEL_CHARS = 12
"""Longer x labels (team names) are cut to this, with the whole label in the mark's title."""
BAR_MAX = 40
"""Widest bar: with one team, a bar as wide as the chart reads as a background, not a bar."""
MAX_LABELS = 16
"""More x labels than this would overlap: only every n-th is written."""

COLOURS = ("#2b6cb0", "#2f855a", "#c05621", "#6b46c1")
"""Series colours, as attributes so that a chart fetched on its own is drawn the same."""


@dataclass(frozen=True)
class Series:
    """One row of values, one per x label; None: nothing measured there (drawn as a gap)."""

    name: str
    values: Sequence[float | None]


def plain_number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    empty: str,
    value_text: Callable[[float], str] = plain_number,
    axis_text: Callable[[float], str] = plain_number,
    short: Callable[[str], str] = lambda label: label,
) -> Markup:
    """Grouped bars: one group per label, one bar per series. `short`: a label as the x axis
    writes it (the mark's title has it whole)."""
    top = _top(series)
    if not labels or top is None:
        return _empty(title, empty)
    frame = _Frame(len(labels), _ticks(top, _whole(series)))
    parts = frame.axes([short(label) for label in labels], axis_text)
    width = min(frame.band * 0.8 / len(series), BAR_MAX)
    inner = width * len(series)
    for s, row in enumerate(series):
        for i, (label, value) in enumerate(zip(labels, row.values, strict=True)):
            if value is None:
                continue
            x = frame.x(i) - inner / 2 + s * width
            y = frame.y(value)
            parts.append(
                f'<rect class="bar s{s}" fill="{_colour(s)}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{max(width - 1, 1):.1f}" height="{frame.y(0) - y:.1f}"'
                f"{_data(label, row.name, value)}>"
                f"<title>{escape(label)}: {escape(value_text(value))} {escape(row.name)}</title>"
                "</rect>"
            )
    return _svg(title, parts, _legend(series))


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    empty: str,
    value_text: Callable[[float], str] = plain_number,
    axis_text: Callable[[float], str] = plain_number,
    short: Callable[[str], str] = lambda label: label,
    top: float | None = None,
) -> Markup:
    """Lines through each series' points; a None breaks the line. `top`: a fixed y maximum
    (1.0 for shares), else the data's."""
    measured = [v for row in series for v in row.values if v is not None]
    if not labels or not measured:
        return _empty(title, empty)
    highest = max(measured) or 1.0  # a line at 0% is a measurement, not an empty chart
    scale = _ticks(highest if top is None else top, top is None and _whole(series))
    frame = _Frame(len(labels), scale)
    parts = frame.axes([short(label) for label in labels], axis_text)
    for s, row in enumerate(series):
        run: list[str] = []
        for i, (label, value) in enumerate(zip(labels, row.values, strict=True)):
            if value is None:
                parts += _polyline(run, s)
                run = []
                continue
            x, y = frame.x(i), frame.y(value)
            run.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle class="point s{s}" fill="{_colour(s)}" cx="{x:.1f}" cy="{y:.1f}" r="3"'
                f"{_data(label, row.name, value)}><title>{escape(label)}: "
                f"{escape(value_text(value))} {escape(row.name)}</title></circle>"
            )
        parts += _polyline(run, s)
    return _svg(title, parts, _legend(series))


@dataclass(frozen=True)
class _Frame:
    """The plot area and the scales that map labels and values into it."""

    slots: int
    ticks: tuple[float, ...]

    @property
    def band(self) -> float:
        return (WIDTH - LEFT - RIGHT) / self.slots

    def x(self, i: int) -> float:
        return LEFT + self.band * (i + 0.5)

    def y(self, value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / self.ticks[-1])

    def axes(self, labels: Sequence[str], axis_text: Callable[[float], str]) -> list[str]:
        parts = []
        for tick in self.ticks:
            y = self.y(tick)
            parts.append(
                _rule("grid", "#e2e8f0", y)
                + f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{escape(axis_text(tick))}</text>"
            )
        base = self.y(0)
        parts.append(_rule("axis", "#4a5568", base))
        every = math.ceil(len(labels) / MAX_LABELS)
        for i, label in enumerate(labels):
            if i % every:
                continue
            short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
            parts.append(
                f'<text class="label" x="{self.x(i):.1f}" y="{base + 16:.1f}" '
                f'text-anchor="middle">{escape(short)}</text>'
            )
        return parts


def _top(series: Sequence[Series]) -> float | None:
    """The largest value, or None when there is nothing but zeros and gaps to draw."""
    values = [v for row in series for v in row.values if v is not None]
    return max(values) if values and max(values) > 0 else None


def _ticks(top: float, whole: bool) -> tuple[float, ...]:
    """0 and round steps (1, 2 or 5 times a power of ten) up to at least `top`, at most 6;
    `whole`: the values are counts."""
    raw = top / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if whole:
        step = max(step, 1.0)  # no tick at 0.5 reports
    return tuple(step * n for n in range(math.ceil(top / step - 1e-9) + 1))


def _whole(series: Sequence[Series]) -> bool:
    return all(v == int(v) for row in series for v in row.values if v is not None)


def _data(label: str, series: str, value: float) -> str:
    return f' data-label="{escape(label)}" data-series="{escape(series)}" data-value="{value:g}"'


def _polyline(points: list[str], s: int) -> list[str]:
    if len(points) < 2:
        return []
    return [
        f'<polyline class="line s{s}" fill="none" stroke="{_colour(s)}" stroke-width="2" '
        f'points="{" ".join(points)}"/>'
    ]


def _legend(series: Sequence[Series]) -> list[str]:
    if len(series) < 2:
        return []
    parts = []
    for s, row in enumerate(series):
        x = LEFT + s * 150
        parts.append(
            f'<rect class="key s{s}" fill="{_colour(s)}" x="{x}" y="26" width="10" height="10"/>'
            f'<text class="legend" x="{x + 14}" y="35">{escape(row.name)}</text>'
        )
    return parts


def _svg(title: str, parts: list[str], legend: list[str]) -> Markup:
    label = _id(title)
    body = "".join([*legend, *parts])
    return Markup(
        f'<svg class="chart" role="img" aria-labelledby="{label}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" {FONT}><title id="{label}">{escape(title)}</title>'
        f"{_heading(title)}{body}</svg>"
    )


def _heading(title: str) -> str:
    """The title written out too: a chart fetched alone says what it shows."""
    return (
        f'<text class="heading" x="8" y="16" font-size="13" font-weight="bold" fill="#1a202c">'
        f"{escape(title)}</text>"
    )


def _rule(kind: str, colour: str, y: float) -> str:
    return (
        f'<line class="{kind}" stroke="{colour}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{y:.1f}" y2="{y:.1f}"/>'
    )


def _colour(s: int) -> str:
    return COLOURS[s % len(COLOURS)]


def _id(title: str) -> str:
    """Stable, so one page's charts keep their ids from one render to the next."""
    return "chart-" + hashlib.sha256(title.encode()).hexdigest()[:8]


def _empty(title: str, message: str) -> Markup:
    label = _id(title)
    return Markup(
        f'<svg class="chart empty" role="img" aria-labelledby="{label}" '
        f'viewBox="0 0 {WIDTH} 90" xmlns="http://www.w3.org/2000/svg" {FONT}>'
        f'<title id="{label}">{escape(title)}: {escape(message)}</title>{_heading(title)}'
        f'<text class="nothing" x="{WIDTH / 2}" y="60" font-size="14" text-anchor="middle">'
        f"{escape(message)}</text>"
        "</svg>"
    )
