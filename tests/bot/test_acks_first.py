"""Background work waits while Slack requests are being acknowledged, but never for long."""

from __future__ import annotations

import threading

from bot.acks_first import AcksFirst


def test_work_waits_until_the_requests_in_flight_are_acknowledged() -> None:
    acks = AcksFirst(max_yield=30)
    order: list[str] = []
    request_in = threading.Event()
    finish_request = threading.Event()

    def request() -> None:
        with acks.acknowledging():
            request_in.set()
            finish_request.wait(10)
            order.append("ack")

    def work() -> None:
        acks.wait_turn()
        order.append("work")

    slack = threading.Thread(target=request)
    slack.start()
    assert request_in.wait(10)
    worker = threading.Thread(target=work)
    worker.start()
    worker.join(0.2)
    assert worker.is_alive(), "the work waits while a request is in flight"
    finish_request.set()
    for thread in (slack, worker):
        thread.join(10)

    assert order == ["ack", "work"]
    assert acks.in_flight == 0


def test_a_steady_flood_of_requests_still_leaves_the_work_a_turn() -> None:
    acks = AcksFirst(max_yield=0.01)
    with acks.acknowledging():
        acks.wait_turn()  # returns after max_yield although the request never ends
        assert acks.in_flight == 1


def test_with_nothing_in_flight_the_work_goes_at_once() -> None:
    acks = AcksFirst(max_yield=30)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (acks.wait_turn(), done.set()))
    worker.start()
    assert done.wait(5)
