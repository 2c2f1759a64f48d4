"""A local read-through cache of the blobs of remote roots.

Blobs are immutable and named by their sha256, so a cached copy never goes stale: it is either the
blob or damaged, and a damaged copy (checked on every read) is dropped and fetched again. Copies are
written to a temp file and renamed, so two processes filling the same blob leave one good copy; the
folder is bounded (least recently used out, a read refreshes a copy's time). A cache that cannot be
written (a full or read-only disk) turns itself off with one warning: a run never fails for its cache.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading

from movie_assets.store.hashing import sha256_bytes

log = logging.getLogger(__name__)
DEFAULT_BYTES = 2 << 30  # 2 GiB
EVICT_TO = 0.8  # an over-full cache is trimmed to this share of its bound


def default_folder() -> str:
    """`$XDG_CACHE_HOME/movie_assets/blobs`, else `~/.cache/movie_assets/blobs`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "movie_assets", "blobs")


class BlobCache:
    """Blobs by sha256 under `folder`, at most about `max_bytes` in all."""

    def __init__(self, folder: str, max_bytes: int = DEFAULT_BYTES) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.enabled = True
        self._size: int | None = None  # bytes held, counted on first fill
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def _path(self, blob_hash: str) -> str:
        return os.path.join(self.folder, blob_hash[:2], blob_hash)

    def holds(self, blob_hash: str) -> bool:
        """Whether a copy is cached (unverified: `get` checks it)."""
        return self.enabled and os.path.exists(self._path(blob_hash))

    def get(self, blob_hash: str) -> bytes | None:
        """The blob's bytes if a good copy is cached; a damaged copy is removed (and None returned)."""
        if not self.enabled:
            return None
        path = self._path(blob_hash)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            self.misses += 1
            return None
        if sha256_bytes(data) != blob_hash:
            log.warning("blob cache: %s was damaged; it is fetched again", path)
            with contextlib.suppress(OSError):
                os.unlink(path)
            self.misses += 1
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: the last to go
        self.hits += 1
        return data

    def put(self, blob_hash: str, data: bytes) -> None:
        """Keep a copy of a verified blob (temp file + rename; a concurrent filler's copy is as good)."""
        if not self.enabled or len(data) > self.max_bytes // 4:
            return
        path = self._path(blob_hash)
        if os.path.exists(path):
            return
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".fill-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:
            self.enabled = False
            log.warning("blob cache at %s is off for this process: %s", self.folder, exc)
            return
        self._grew(len(data))

    def _grew(self, added: int) -> None:
        with self._lock:
            if self._size is None:
                self._size = sum(size for _, size, _ in self._entries())
            else:
                self._size += added
            if self._size > self.max_bytes:
                self._size = self._evict()

    def _entries(self) -> list[tuple[str, int, float]]:
        found = []
        with contextlib.suppress(OSError):
            for shard in os.scandir(self.folder):
                if not shard.is_dir():
                    continue
                for entry in os.scandir(shard.path):
                    if entry.name.startswith(".fill-"):
                        continue
                    with contextlib.suppress(OSError):
                        stat = entry.stat()
                        found.append((entry.path, stat.st_size, stat.st_mtime))
        return found

    def _evict(self) -> int:
        """Remove the least recently used copies until the cache holds EVICT_TO of its bound."""
        entries = sorted(self._entries(), key=lambda e: e[2])
        total = sum(size for _, size, _ in entries)
        for path, size, _ in entries:
            if total <= self.max_bytes * EVICT_TO:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                total -= size
        return total
