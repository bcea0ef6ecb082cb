"""The SVG charts read back as a person (or a screen reader) would: marks, labels, titles."""

from __future__ import annotations

from xml.etree import ElementTree

from bot.local.admin.charts import Series, bar_chart, line_chart
from tests.local.admin.conftest import SVG, bars, titles


def parsed(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup)


def test_bars_are_as_tall_as_their_values_on_a_labelled_axis() -> None:
    svg = parsed(bar_chart("Per day", ["a", "b", "c"], [Series("reports", [1, 4, 2])], empty="-"))

    heights = {r.attrib["data-label"]: float(r.attrib["height"]) for r in svg.iter(f"{SVG}rect")}
    assert heights["b"] == 4 * heights["a"] == 2 * heights["c"] > 0
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.attrib.get("class") == "tick"]
    assert ticks[0] == "0" and float(ticks[-1] or 0) >= 4
    assert "." not in "".join(t or "" for t in ticks), "whole counts get whole ticks"
    assert titles(svg) == ["Per day", "a: 1 reports", "b: 4 reports", "c: 2 reports"]
    assert svg.attrib["role"] == "img"
    assert svg.attrib["aria-labelledby"] == svg.find(f"{SVG}title").attrib["id"]  # type: ignore[union-attr]


def test_labels_and_names_are_escaped_and_long_labels_cut() -> None:
    team = "<script>alert(1)</script> operations and logistics"
    markup = bar_chart("Teams", [team], [Series("escalated & joined", [2])], empty="-")

    assert "<script>" not in markup
    svg = parsed(markup)
    assert bars(svg, "escalated & joined") == {team: 2}
    written = [t.text for t in svg.iter(f"{SVG}text") if t.attrib.get("class") == "label"]
    assert written == ["<script>ale…"]
    assert f"{team}: 2 escalated & joined" in titles(svg)


def test_nothing_to_draw_says_so_instead_of_empty_axes() -> None:
    for markup in (
        bar_chart("Reports", ["a", "b"], [Series("reports", [0, 0])], empty="no reports yet"),
        bar_chart("Reports", [], [Series("reports", [])], empty="no reports yet"),
        line_chart("Reports", ["a"], [Series("solved", [None])], empty="no reports yet"),
    ):
        svg = parsed(markup)
        assert not list(svg.iter(f"{SVG}rect")) and not list(svg.iter(f"{SVG}circle"))
        assert [t.text for t in svg.iter(f"{SVG}text")] == ["Reports", "no reports yet"]
        assert titles(svg)[0].endswith(": no reports yet")


def test_a_line_breaks_where_nothing_was_measured() -> None:
    svg = parsed(
        line_chart(
            "Share",
            ["a", "b", "c", "d", "e"],
            [Series("solved", [50, 100, None, 25, 75])],
            empty="-",
            top=100,
        )
    )

    lines = [p.attrib["points"].split() for p in svg.iter(f"{SVG}polyline")]
    assert [len(points) for points in lines] == [2, 2]
    assert [c.attrib["data-label"] for c in svg.iter(f"{SVG}circle")] == ["a", "b", "d", "e"]


def test_two_series_get_a_legend_and_bars_side_by_side() -> None:
    svg = parsed(
        bar_chart("Per day", ["a"], [Series("reports", [3]), Series("deflected", [1])], empty="-")
    )

    legend = [t.text for t in svg.iter(f"{SVG}text") if t.attrib.get("class") == "legend"]
    assert legend == ["reports", "deflected"]
    reports, deflected = (r for r in svg.iter(f"{SVG}rect") if "bar" in r.attrib["class"])
    assert float(deflected.attrib["x"]) >= float(reports.attrib["x"]) + float(
        reports.attrib["width"]
    )


def test_a_share_of_zero_is_drawn_not_called_empty() -> None:
    svg = parsed(line_chart("Share", ["a", "b"], [Series("solved", [0, None])], empty="-", top=100))

    assert [c.attrib["data-value"] for c in svg.iter(f"{SVG}circle")] == ["0"]
    assert "empty" not in svg.attrib["class"]
