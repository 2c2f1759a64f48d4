"""Appends from many threads of one process, written together (group commit).

While one write is in flight, the appends that arrive wait; the next write takes every one of them.
On S3 an append is a round trip whatever it holds, so thirty jobs finishing at once cost a few
writes instead of thirty in a row. Each caller returns only once its own lines are written, and
fails if the write that held them failed: an acknowledged line is as durable as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Ticket(Generic[T, R]):
    __slots__ = ("done", "error", "items", "written")

    def __init__(self, items: list[T]) -> None:
        self.items = items
        self.written: list[R] = []
        self.error: BaseException | None = None
        self.done = False


class GroupAppend(Generic[T, R]):
    """One log's appends in this process: one write at a time, each taking all that are waiting."""

    def __init__(self) -> None:
        self._waiting: list[_Ticket[T, R]] = []
        self._queue = threading.Lock()
        self._writer = threading.Lock()

    def append(self, items: list[T], write: Callable[[list[T]], list[R]]) -> list[R]:
        """`write` the items (with any others waiting, in arrival order); what it returned for these.
        `write` returns one result per item, in order."""
        ticket: _Ticket[T, R] = _Ticket(items)
        with self._queue:
            self._waiting.append(ticket)
        with self._writer:
            if not ticket.done:  # else a write that took it finished while this thread waited its turn
                with self._queue:
                    batch, self._waiting = self._waiting, []
                self._write(batch, write)
        if ticket.error is not None:
            raise ticket.error
        return ticket.written

    @staticmethod
    def _write(batch: list[_Ticket[T, R]], write: Callable[[list[T]], list[R]]) -> None:
        try:
            written = write([item for ticket in batch for item in ticket.items])
        except BaseException as exc:  # noqa: BLE001 - handed to every caller whose lines it held
            for ticket in batch:
                ticket.error, ticket.done = exc, True
            return
        start = 0
        for ticket in batch:
            ticket.written, ticket.done = written[start : start + len(ticket.items)], True
            start += len(ticket.items)
