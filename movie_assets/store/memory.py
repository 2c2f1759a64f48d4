"""fsspec's in-process memory filesystem; atomicity from one process-wide lock."""

from __future__ import annotations

import contextlib
import datetime
import io
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

import fsspec

from movie_assets.errors import CasConflict, NotFound, RunInProgress
from movie_assets.store.base import Change, Check, FsspecBackend, drop_torn_tail

if TYPE_CHECKING:
    from movie_assets.store.config import StorageConfig

_MEMORY_LOCK = threading.RLock()
_LEASES: dict[str, threading.Lock] = {}


class MemoryBackend(FsspecBackend):
    """fsspec's in-process memory filesystem; atomicity from one process-wide lock."""

    def __init__(self, config: StorageConfig) -> None:
        self.fs = fsspec.filesystem("memory")
        root = config.root[len("memory://") :] if config.root.startswith("memory://") else config.root
        self.root = "/" + root.strip("/")

    def read(self, path: str) -> bytes:
        with _MEMORY_LOCK:
            return super().read(path)

    def read_from(self, path: str, offset: int) -> bytes:
        return self.read(path)[offset:]

    def open_read(self, path: str) -> BinaryIO:
        return io.BytesIO(self.read(path))

    def write_atomic(self, path: str, data: bytes) -> None:
        with _MEMORY_LOCK:
            self.fs.pipe_file(path, data)

    def write_if_absent(self, path: str, data: bytes) -> bool:
        with _MEMORY_LOCK:
            if self.fs.exists(path):
                return False
            self.fs.pipe_file(path, data)
            return True

    @contextlib.contextmanager
    def lock(self, path: str) -> Iterator[None]:
        with _MEMORY_LOCK:
            yield

    @contextlib.contextmanager
    def lease(self, path: str, wait: bool) -> Iterator[None]:
        with _MEMORY_LOCK:
            held = _LEASES.setdefault(path, threading.Lock())
        if not held.acquire(blocking=wait):
            raise RunInProgress(f"{path}: a run of this movie is going on")
        try:
            yield
        finally:
            held.release()

    def compare_and_swap(self, path: str, check: Check, data: bytes) -> None:
        with _MEMORY_LOCK:
            current = self.fs.cat_file(path) if self.fs.exists(path) else None
            if not check(current):
                raise CasConflict(f"{path} changed since it was read")
            self.fs.pipe_file(path, data)

    def update(self, path: str, change: Change) -> bytes:
        with _MEMORY_LOCK:
            new = change(self.fs.cat_file(path) if self.fs.exists(path) else None)
            self.fs.pipe_file(path, new)
            return new

    def append_line(self, path: str, build: Change) -> bytes:
        with _MEMORY_LOCK:
            current = drop_torn_tail(self.fs.cat_file(path) if self.fs.exists(path) else b"", path)
            lines = current.splitlines()
            line = build(lines[-1] if lines else None)
            self.fs.pipe_file(path, current + line)
            return line

    def stage_open(self, staging_dir: str) -> BinaryIO:
        return io.BytesIO()

    def stage_publish(self, handle: BinaryIO, path: str) -> bool:
        assert isinstance(handle, io.BytesIO)
        return self.write_if_absent(path, handle.getvalue())

    def stage_discard(self, handle: BinaryIO) -> None:
        handle.close()

    def modified_time(self, path: str) -> float:
        with _MEMORY_LOCK:
            return super().modified_time(path)

    def stat(self, path: str) -> tuple[int, float]:
        with _MEMORY_LOCK:  # the time `touch` moves (fsspec's info reports the creation time)
            found = self.fs.store.get(path)
            if found is None:
                raise NotFound(path)
            return len(found.getbuffer()), found.modified.timestamp()

    def scan(self, path: str) -> list[tuple[str, int, float]]:
        with _MEMORY_LOCK:
            prefix = path.rstrip("/") + "/"
            return [
                (name, len(f.getbuffer()), f.modified.timestamp())
                for name, f in list(self.fs.store.items())
                if name.startswith(prefix)
            ]

    def remove_tree(self, path: str) -> None:
        with _MEMORY_LOCK:
            super().remove_tree(path)

    def touch(self, path: str) -> None:
        with _MEMORY_LOCK:
            try:
                self.fs.store[path].modified = datetime.datetime.now(tz=datetime.UTC)
            except KeyError:
                raise NotFound(path) from None
