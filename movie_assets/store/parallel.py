"""Independent storage requests at once, a bounded number of them.

On S3 each request is a network round trip, so a command that needs twenty independent ones waits for
one round trip per eight instead of twenty in a row; on a local disk the threads cost little. Only
requests that do not depend on each other's answers go through here (reads, create-only writes,
existence checks): anything ordered (a compare-and-swap, an append) stays where it is.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from movie_assets.store.storage import MovieFS


T = TypeVar("T")
R = TypeVar("R")


def io_threads(fs: MovieFS) -> int:
    """How many requests a command may have in flight at once on this root (the io_threads setting)."""
    return fs.storage.io_threads


def threads_for(fs: MovieFS, most: int | None = None) -> int:
    """Up to `most` (at most the io_threads setting) where each request is a network round trip, 1 on a
    disk, where overlapping a few reads gains less than the threads cost."""
    limit = io_threads(fs)
    return min(most or limit, limit) if fs.backend.remote else 1


def each(fn: Callable[[T], R], items: Iterable[T], threads: int) -> list[R]:
    """`fn` of every item, in the items' order, at most `threads` at a time; the first exception raised
    is raised here once every started call has finished."""
    items = list(items)
    if len(items) <= 1 or threads <= 1:
        return [fn(item) for item in items]
    # imported here: status and plan, which never fan out, do not pay for loading concurrent.futures
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        return list(pool.map(fn, items))


def at_once(calls: Iterable[Callable[[], R]], threads: int) -> list[R]:
    """What each call returns, in order, at most `threads` calls at a time (each, for calls of nothing)."""
    return each(lambda call: call(), calls, threads)


def shared(fn: Callable[[], R]) -> Callable[[], R]:
    """`fn`, called once however many threads ask: the first caller makes the request, the others wait
    for its answer (an exception is raised to each caller that asks)."""
    import threading

    lock, answer = threading.Lock(), []

    def call() -> R:
        with lock:
            if not answer:
                try:
                    answer.append((fn(), None))
                except Exception as exc:  # noqa: BLE001 - handed to every caller
                    answer.append((None, exc))
        value, exc = answer[0]
        if exc is not None:
            raise exc
        return value

    return call


_LATER: ContextVar[Any] = ContextVar("later", default=None)
log = logging.getLogger(__name__)


@contextlib.contextmanager
def overlapped() -> Iterator[None]:
    """Within (on this thread): what is handed to `later` runs on another thread while this one goes on,
    and it is all done when the block ends (a failure is logged, not raised: `later` takes only clean-ups
    whose failure the store outlives, like the release of a lease that then expires)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        started: list[Any] = []
        token = _LATER.set((pool, started))
        try:
            yield
        finally:
            _LATER.reset(token)
            for future in started:
                if future.exception() is not None:
                    log.warning("a clean-up left for later failed: %s", future.exception())


def later(fn: Callable[[], object]) -> None:
    """Run `fn` now, or, within `overlapped` on this thread, beside what this thread does next."""
    pending = _LATER.get()
    if pending is None:
        fn()
        return
    pool, started = pending
    started.append(pool.submit(fn))
