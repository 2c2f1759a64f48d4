"""Group commit: appends that wait while a write is in flight go out together, each caller answered alone."""

from __future__ import annotations

import threading
import time

from movie_assets.errors import StorageError
from movie_assets.store.group_append import GroupAppend


def _queued(group: GroupAppend, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(group._waiting) < count and time.monotonic() < deadline:
        time.sleep(0.001)


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
    first = threading.Thread(target=lambda: answers.__setitem__(0, group.append(["a0"], write)))
    first.start()
    while not group._writer.locked():
        time.sleep(0.001)
    others = [
        threading.Thread(target=lambda n=n: answers.__setitem__(n, group.append([f"a{n}", f"b{n}"], write)))
        for n in range(1, 6)
    ]
    for thread in others:
        thread.start()
    _queued(group, 5)
    release.set()
    for thread in [first, *others]:
        thread.join(30)
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

    first = threading.Thread(target=append, args=("first",))
    first.start()
    while not group._writer.locked():
        time.sleep(0.001)
    held = [threading.Thread(target=append, args=(f"x{n}",)) for n in range(3)]
    for thread in held:
        thread.start()
    _queued(group, 3)
    release.set()
    for thread in [first, *held]:
        thread.join(30)
    assert len(errors) == 3 and all("disk full" in str(e) for e in errors)
    assert group.append(["later"], write) == ["later"], "a failed write leaves the group usable"
