"""Group commit: items submitted together are written together, each exactly once, and a
failed write fails every submitter of its group without stopping the next group."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from escalation.group_commit import GroupCommit


def test_items_arriving_while_a_write_is_in_progress_share_the_next_write() -> None:
    groups: list[list[int]] = []
    first_write_started = threading.Event()
    release_first_write = threading.Event()

    def write(items: list[int]) -> None:
        groups.append(items)
        if len(groups) == 1:
            first_write_started.set()
            release_first_write.wait(10)

    group = GroupCommit[int](write)
    first = threading.Thread(target=group.submit, args=(0,))
    first.start()
    assert first_write_started.wait(10)
    others = [threading.Thread(target=group.submit, args=(n,)) for n in range(1, 9)]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 10
    while len(group._waiting) < 8 and time.monotonic() < deadline:  # all queued behind it
        time.sleep(0.001)
    release_first_write.set()
    for thread in [first, *others]:
        thread.join(10)

    assert groups[0] == [0]
    assert Counter(item for g in groups for item in g) == Counter(range(9)), "each item once"
    assert len(groups) < 9, "the waiting items were written together, not one by one"


def test_a_failed_write_fails_its_group_and_the_next_group_still_works() -> None:
    calls = 0

    def write(items: list[str]) -> None:
        nonlocal calls
        calls += 1
        if "poison" in items:
            raise RuntimeError("disk full")

    group = GroupCommit[str](write)
    with pytest.raises(RuntimeError, match="disk full"):
        group.submit("poison")
    group.submit("fine")

    assert calls == 2


def test_many_threads_each_return_only_once_their_item_is_written() -> None:
    written: set[int] = set()
    lock = threading.Lock()
    missing: list[int] = []

    def write(items: list[int]) -> None:
        with lock:
            written.update(items)

    group = GroupCommit[int](write)

    def submit(n: int) -> None:
        group.submit(n)
        with lock:
            if n not in written:
                missing.append(n)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert missing == []
    assert written == set(range(200))
