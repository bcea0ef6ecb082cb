"""A ticket's message flags its SLA by itself: near, then past, once each, until it is resolved."""

from __future__ import annotations

from tests.scenarios.world import ENGINEERS, Employee, Engineers, Jethro, shown_text

UNKNOWN = "the quantum flux capacitor on floor 3 is humming"
ALICE = "U0ALICE001"


def edits(jethro: Jethro, ts: str) -> int:
    return len([c for c in jethro.slack.calls("chat.update") if c.args["ts"] == ts])


def test_the_flag_appears_without_a_click_once_per_change_and_stops_when_resolved(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    [alice] = engineers.on_duty(ALICE)

    def shown() -> str:
        jethro.settle()
        return shown_text(jethro.slack.message(ENGINEERS, posted["ts"]))

    jethro.time_passes(minutes=23)
    assert "SLA" not in shown() and edits(jethro, posted["ts"]) == 0

    jethro.time_passes(minutes=1)  # 80% of the 30-minute acknowledgement target
    assert "Near its SLA*: acknowledge within 30 min (24 min so far)" in shown()

    jethro.time_passes(minutes=6, seconds=1)
    assert "Past its SLA*: acknowledge within 30 min (30 min so far)" in shown()

    jethro.restart()
    jethro.time_passes(minutes=20)
    assert "Past its SLA*: acknowledge" in shown() and edits(jethro, posted["ts"]) == 2

    alice.click("ticket_ack", posted)  # the acknowledgement clock stops; resolving is on time
    assert "SLA" not in shown() and edits(jethro, posted["ts"]) == 3

    jethro.time_passes(hours=18, minutes=22)  # 19 h 12 min open: 80% of the 24-hour target
    assert (
        "Near its SLA*: resolve within 1 d 0 h (19 h 12 min so far)" in shown()
        and edits(jethro, posted["ts"]) == 4
    )

    alice.resolve(posted, "Replaced the fuse.")
    jethro.time_passes(days=2)
    assert "*Status*\nresolved" in shown() and edits(jethro, posted["ts"]) == 5
