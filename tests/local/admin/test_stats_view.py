"""What an admin sees of the bot's work: gap groups, the figures of `jethro stats`, and charts
whose bars count what really happened (reports, deflections, escalations, acknowledgements)."""

from __future__ import annotations

import pytest

from bot.flow import ReportResult
from escalation.clock import FixedClock
from knowledge.decision import Outcome
from tests.local.admin.conftest import Admin, bars, day_label, parse_html, titles, wait_until

UNKNOWN = (
    "the quantum flux capacitor in meeting room 4 hums",
    "quantum flux capacitor hums loudly in room 4",
    "the quantum flux capacitor hums again",
)


def answered(admin: Admin, text: str) -> ReportResult:
    result = admin.report(text)
    assert result.decision.outcome is Outcome.ANSWER, f"{text!r} was not answered"
    return result


def escalated(admin: Admin, text: str) -> int:
    result = admin.report(text)
    assert result.ticket is not None, f"{text!r} was not escalated"
    assert result.ticket.id is not None
    return result.ticket.id


def test_with_no_reports_every_chart_says_so(admin: Admin) -> None:
    for name in ("reports", "deflection", "teams", "acknowledge"):
        svg = admin.svg(name)
        assert "empty" in svg.attrib["class"].split()
        assert not bars(svg, "reports")
        assert any(title.endswith(" yet") for title in titles(svg)), titles(svg)
    nothing = admin.svg("reports").find("{http://www.w3.org/2000/svg}text[@class='nothing']")
    assert nothing is not None and nothing.text == "no reports yet"
    page = admin.html()
    assert page.one(data_figure="reports").text == "0"
    assert "No escalated reports in the last 30 days" in page.one("section", id="gaps").text


def test_the_charts_count_the_reports_deflections_and_escalations_made(
    admin: Admin, clock: FixedClock
) -> None:
    vpn = answered(admin, "vpn drops every few minutes")
    admin.solved(vpn)
    answered(admin, "vpn drops every few minutes")
    network_ticket = admin.still_broken(answered(admin, "my vpn keeps dropping"), "still drops")
    admin.acknowledge_after(network_ticket, minutes=12)
    clock.advance(days=2)
    it_ticket = escalated(admin, UNKNOWN[0])
    admin.acknowledge_after(it_ticket, minutes=30)
    admin.solved(answered(admin, "vpn drops every few minutes"))

    reports = admin.svg("reports")
    assert {day: n for day, n in bars(reports, "reports").items() if n} == {
        day_label(clock, 2): 3,
        day_label(clock): 2,
    }
    assert len(bars(reports, "reports")) == 14, "two weeks of days, the quiet ones at zero"
    assert {day: n for day, n in bars(reports, "deflected").items() if n} == {
        day_label(clock, 2): 1,
        day_label(clock): 1,
    }
    assert f"{day_label(clock, 2)}: 3 reports" in titles(reports)
    teams = admin.svg("teams")
    assert bars(teams, "escalated") == {"network": 1, "it": 1}
    assert bars(teams, "not resolved") == {"network": 1, "it": 1}
    acknowledge = admin.svg("acknowledge")
    assert bars(acknowledge, "median") == {"network": 12, "it": 30}
    assert "network: 12 min median" in titles(acknowledge)
    deflection = admin.svg("deflection")
    points = {
        point.attrib["data-label"]: float(point.attrib["data-value"])
        for point in deflection.iter("{http://www.w3.org/2000/svg}circle")
    }
    assert points == pytest.approx({day_label(clock, 2): 100 / 3, day_label(clock): 50}, rel=1e-4)
    page = admin.html()
    shown = {name: page.one(data_figure=name).text for name in ("reports", "deflected")}
    assert shown == {"reports": "5", "deflected": "2"}
    assert "median 21 min, p90 30 min (2 tickets)" in page.one("section", id="stats").text


def test_escalated_reports_alike_form_a_gap_group_with_their_tickets(admin: Admin) -> None:
    numbers = [escalated(admin, text) for text in UNKNOWN]
    other = escalated(admin, "my standing desk motor squeaks when raised")

    groups = admin.html().one("section", id="gaps").find_all("li", class_="gap")

    biggest = groups[0].text
    assert biggest.startswith("3 reports · ") and "quantum" in biggest and "capacitor" in biggest
    assert all(f"#{number} " in biggest for number in numbers)
    assert f"#{other} " not in biggest and len(groups) == 2


def test_report_text_is_shown_as_text_never_as_markup(admin: Admin) -> None:
    evil = '<img src=x onerror="alert(1)"> <script>alert(2)</script> the quantum flux capacitor'
    escalated(admin, evil)

    response = admin.get("/admin")

    assert "<img src=x" not in response.text and "<script>alert(2)" not in response.text
    assert "&lt;img src=x onerror=" in response.text
    gaps = parse_html(response.text).one("section", id="gaps")
    assert '<img src=x onerror="alert(1)">' in gaps.text
    assert not gaps.find_all("img") and not gaps.find_all("script")
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    scripts = parse_html(response.text).find_all("script")
    assert [script.attrs["nonce"] for script in scripts] == [nonce]


def test_a_new_report_changes_the_version_the_page_polls(admin: Admin) -> None:
    before = admin.version()
    assert admin.version() == before, "nothing happened: the page must not re-render"

    escalated(admin, UNKNOWN[0])

    wait_until(lambda: admin.version() != before, "the version never changed")
    body = parse_html(admin.get("/admin/body").text)
    assert body.one(data_figure="reports").text == "1"
    assert body.one(data_figure="escalated").text == "1"
