"""Independent storage requests at once, a bounded number of them.

On S3 each request is a network round trip, so a command that needs twenty independent ones waits for
one round trip per eight instead of twenty in a row; on a local disk the threads cost little. Only
requests that do not depend on each other's answers go through here (reads, create-only writes,
existence checks): anything ordered (a compare-and-swap, an append) stays where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

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
