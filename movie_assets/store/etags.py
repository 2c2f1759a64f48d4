"""The version of each small object this process last read or wrote on S3: its body and its ETag.

A read-modify-write (an appended log line, the pointer swap) starts from it instead of a GET: the
write carries `If-Match: <etag>`, so a version another writer has replaced since fails the condition
and the caller reads again. A stale entry costs one refused PUT; it can never let a write through
over a version it did not see. Nothing is ever *read* from here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

LARGEST = 1024 * 1024  # bigger objects (blobs, long logs) are not kept: a GET is cheap beside their PUT
BUDGET = 8 * 1024 * 1024


ABSENT = (b"", "")  # seen not to exist: a write then goes with If-None-Match


class KnownVersions:
    """Path → (body, ETag) or ABSENT, least recently used out past `budget` bytes; safe between threads."""

    def __init__(self, budget: int = BUDGET, largest: int = LARGEST) -> None:
        self.budget = budget
        self.largest = largest
        self._entries: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, path: str) -> tuple[bytes, str] | None:
        with self._lock:
            found = self._entries.get(path)
            if found is not None:
                self._entries.move_to_end(path)
            return found

    def _drop(self, path: str) -> None:
        old = self._entries.pop(path, None)
        if old is not None:
            self._size -= len(old[0])

    def put(self, path: str, body: bytes, etag: str | None) -> None:
        """Remember `body` as the object's version tagged `etag` (forget the path if there is no tag)."""
        with self._lock:
            self._drop(path)
            if not etag or len(body) > self.largest:
                return
            self._entries[path] = (body, etag)
            self._size += len(body)
            while self._size > self.budget:
                _, (dropped, _) = self._entries.popitem(last=False)
                self._size -= len(dropped)

    def forget(self, path: str) -> None:
        self.put(path, b"", None)

    def absent(self, path: str) -> None:
        """Remember that the object did not exist when last asked."""
        with self._lock:
            self._drop(path)
            self._entries[path] = ABSENT
