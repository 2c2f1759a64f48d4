"""Group commit: appends that wait while a write is in flight go out together, each caller answered alone."""

from __future__ import annotations

import threading
import time

from movie_assets.errors import StorageError
from movie_assets.store.group_append import GroupAppend


def _while_the_first_is_written(group: GroupAppend, first, others: list, release: threading.Event) -> None:
    """Run `first`, then `others` once its write is in flight (its `write` waits on `release`); let it
    finish only when all of them wait, and join them all."""
    threads = [threading.Thread(target=first), *(threading.Thread(target=other) for other in others)]
    threads[0].start()
    deadline = time.monotonic() + 30
    while not group._writer.locked() and time.monotonic() < deadline:
        time.sleep(0.001)
    for thread in threads[1:]:
        thread.start()
    while len(group._waiting) < len(others) and time.monotonic() < deadline:
        time.sleep(0.001)
    release.set()
    for thread in threads:
        thread.join(30)


def test_appends_that_arrive_during_a_write_are_written_together_and_each_caller_gets_its_own_lines():
    group: GroupAppend[str, str] = GroupAppend()
    writes: list[list[str]] = []
    release = threading.Event()

    def write(items: list[str]) -> list[str]:
        if not writes:
            release.wait(30)  # the first write is in flight while the others arrive
        writes.append(items)
        return [f"{len(writes)}:{item}" for item in items]

    answers: dict[int, list[str]] = {}
    first = lambda: answers.__setitem__(0, group.append(["a0"], write))  # noqa: E731
    others = [lambda n=n: answers.__setitem__(n, group.append([f"a{n}", f"b{n}"], write)) for n in range(1, 6)]
    _while_the_first_is_written(group, first, others, release)
    assert writes[0] == ["a0"]
    assert len(writes) == 2 and sorted(writes[1]) == sorted(f"{x}{n}" for n in range(1, 6) for x in "ab")
    assert answers[0] == ["1:a0"]
    for n in range(1, 6):
        assert answers[n] == [f"2:a{n}", f"2:b{n}"], "each caller gets the results of its own lines, in order"


def test_a_failed_write_fails_every_caller_whose_lines_it_held_and_the_next_write_goes_on():
    group: GroupAppend[str, str] = GroupAppend()
    release = threading.Event()
    calls: list[list[str]] = []

    def write(items: list[str]) -> list[str]:
        calls.append(items)
        if len(calls) == 1:
            release.wait(30)
            return items
        if len(calls) == 2:
            raise StorageError("disk full")
        return items

    errors: list[BaseException] = []

    def append(item: str) -> None:
        try:
            group.append([item], write)
        except StorageError as exc:
            errors.append(exc)

    held = [lambda n=n: append(f"x{n}") for n in range(3)]
    _while_the_first_is_written(group, lambda: append("first"), held, release)
    assert len(errors) == 3 and all("disk full" in str(e) for e in errors)
    assert group.append(["later"], write) == ["later"], "a failed write leaves the group usable"
