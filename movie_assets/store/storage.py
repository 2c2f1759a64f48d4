"""StorageContext (a storage root) and MovieFS (one movie inside it, bound once).

Every path a service passes is relative to its movie and validated here, so nothing can name a file
outside the movie root; the backend does the bytes (see `store.base` for each guarantee).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from movie_assets.errors import InvalidValue
from movie_assets.store.base import Backend, FileStat
from movie_assets.store.config import StorageConfig
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.paths import (
    STAGING_DIR,
    is_internal,
    is_movie_id,
    validate_internal,
    validate_movie_id,
    validate_relative,
)
from movie_assets.store.registry import backend_class


class StorageContext:
    """A storage root: which movies it holds, and a MovieFS per movie."""

    def __init__(self, config: StorageConfig | None = None) -> None:
        self.config = config or StorageConfig()
        self.backend: Backend = backend_class(self.config.driver)(self.config)

    @property
    def root(self) -> str:
        return self.backend.root

    def movie(self, movie_id: str) -> MovieFS:
        """The files of one movie (the id is validated here, once)."""
        return MovieFS(self, movie_id)

    def list_movies(self) -> list[str]:
        """Movie ids present under the root (folders with a valid id)."""
        return sorted(m for m in self.backend.list_dirs(self.backend.root) if is_movie_id(m))


class MovieFS:
    """Relative-path file access inside `<root>/<movie_id>/`."""

    def __init__(self, storage: StorageContext, movie_id: str) -> None:
        self.storage = storage
        self.movie_id = validate_movie_id(movie_id)
        self.backend = storage.backend
        self.base = f"{self.backend.root}/{movie_id}"

    @property
    def root(self) -> str:
        """The storage root (for messages)."""
        return self.storage.root

    def resolve(self, relative: str = "", internal: bool = False) -> str:
        """Absolute backend path of `relative` inside the movie root; the path is validated.

        `internal` also admits the store's bookkeeping names (temp files, the staging area), for clean-up.
        """
        if relative in ("", STAGING_DIR):
            rel = relative
        else:
            rel = validate_internal(relative) if internal else validate_relative(relative)
        return f"{self.base}/{rel}" if rel else self.base

    # ---- reads ----------------------------------------------------------------------------------
    def read(self, relative: str) -> bytes:
        return self.backend.read(self.resolve(relative))

    def open_read(self, relative: str) -> BinaryIO:
        return self.backend.open_read(self.resolve(relative))

    def exists(self, relative: str) -> bool:
        return self.backend.exists(self.resolve(relative))

    def list(self, prefix: str = "") -> list[str]:
        """Relative paths of all files under `prefix` (recursive, sorted, internal files hidden)."""
        out = []
        for path in self.backend.find(self.resolve(prefix)):
            rel = path[len(self.base) + 1 :]
            if not is_internal(rel):
                out.append(rel)
        return sorted(out)

    def modified_time(self, relative: str, internal: bool = False) -> float:
        return self.backend.modified_time(self.resolve(relative, internal))

    def scan(self, prefix: str = "", hidden: bool = False) -> list[FileStat]:
        """Files under `prefix` with size and modification time, in one listing (no per-file stat calls).

        `hidden` also returns internal files (temp files, lock files, the staging area) for clean-up.
        """
        out = []
        for path, size, mtime in self.backend.scan(self.resolve(prefix)):
            rel = path[len(self.base) + 1 :]
            if hidden or not is_internal(rel):
                out.append(FileStat(rel, size, mtime))
        return sorted(out)

    # ---- writes ---------------------------------------------------------------------------------
    def touch(self, relative: str) -> None:
        """Set the file's modification time to now (content untouched); NotFound if it is gone."""
        self.backend.touch(self.resolve(relative))

    def write_atomic(self, relative: str, data: bytes) -> None:
        """Replace the file's content all at once: readers see the old or the new bytes, never a mix."""
        self.backend.write_atomic(self.resolve(relative), data)

    def write_if_absent(self, relative: str, data: bytes) -> bool:
        """Create the file with `data` unless it exists. True if this call created it."""
        return self.backend.write_if_absent(self.resolve(relative), data)

    def compare_and_swap(
        self, relative: str, expected: str | None | Callable[[bytes | None], bool], data: bytes
    ) -> None:
        """Write `data` only if the current bytes still match `expected`, else raise CasConflict.

        `expected` is the sha256 of the current bytes, None for "must not exist", or a predicate
        over the current bytes (None when absent) evaluated while the swap is exclusive.
        """
        if callable(expected):
            check = expected
        else:

            def check(current: bytes | None) -> bool:
                if expected is None:
                    return current is None
                return current is not None and sha256_bytes(current) == expected

        self.backend.compare_and_swap(self.resolve(relative), check, data)

    def append_line(self, relative: str, make_line: bytes | Callable[[bytes | None], bytes]) -> bytes:
        """Append one line atomically (exclusive across processes for local files).

        `make_line` may be a callable that receives the last complete line (None if empty) under the
        lock, so callers can assign sequence numbers. A torn last line left by a crash is cut off first.
        """
        build = make_line if callable(make_line) else (lambda _last: make_line)

        def checked(last: bytes | None) -> bytes:
            line = build(last)
            if not line.endswith(b"\n") or b"\n" in line[:-1]:
                raise InvalidValue("append_line needs exactly one line ending with a newline")
            return line

        return self.backend.append_line(self.resolve(relative), checked)

    def update(self, relative: str, change: Callable[[bytes | None], bytes]) -> bytes:
        """Atomic read-modify-write: `change` maps the current bytes (None if absent) to the new bytes.

        No other update, append or compare-and-swap of the same path can interleave; `change` may be
        called more than once (on S3 it is retried when a concurrent writer wins) and must be pure.
        """
        return self.backend.update(self.resolve(relative), change)

    def stage(self) -> StagedFile:
        """A file being written that becomes visible only on `publish` (create-only)."""
        return StagedFile(self)

    def delete(self, relative: str, internal: bool = False) -> None:
        """Remove a file; `internal` admits bookkeeping names (GC sweeping write debris)."""
        self.backend.delete(self.resolve(relative, internal))

    @contextlib.contextmanager
    def lock(self, relative: str) -> Iterator[None]:
        """Exclusive lock named after a path (not held by readers)."""
        with self.backend.lock(self.resolve(relative)):
            yield


class StagedFile:
    """A file being written that becomes visible only on `publish` (create-only)."""

    def __init__(self, fs: MovieFS) -> None:
        self._fs = fs
        self._handle = fs.backend.stage_open(fs.resolve(STAGING_DIR))
        self.published: bool | None = None

    def write(self, data: bytes) -> None:
        self._handle.write(data)

    def publish(self, relative: str) -> bool:
        """Move the staged bytes to `relative` unless it exists; True if this call created it."""
        self.published = self._fs.backend.stage_publish(self._handle, self._fs.resolve(relative))
        return self.published

    def discard(self) -> None:
        self._fs.backend.stage_discard(self._handle)
