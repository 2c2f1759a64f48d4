"""StorageContext (a storage root) and MovieFS (one movie inside it, bound once).

Every path a service passes is relative to its movie and validated here, so nothing can name a file
outside the movie root; the backend does the bytes (see `store.base` for each guarantee).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from movie_assets.errors import InvalidId, InvalidValue, MovieAssetsError, NotFound, StorageError
from movie_assets.store.base import Backend, FileStat
from movie_assets.store.config import IO_THREADS, StorageConfig
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


class _NoTranslation:
    def translate(self, exc: BaseException, what: str) -> None:
        return None


BLUEPRINTS_DIR = ".blueprints"


if TYPE_CHECKING:
    from movie_assets.store.blob_cache import BlobCache


class StorageContext:
    """A storage root: which movies it holds, and a MovieFS per movie."""

    def __init__(
        self, config: StorageConfig | None = None, blob_cache: BlobCache | None = None, io_threads: int = IO_THREADS
    ) -> None:
        self.config = config or StorageConfig()
        self.io_threads = max(io_threads, 1)  # requests in flight at once where a command fans out
        # a local copy of remote blobs; pointless for a local or in-memory root, whose blobs are local
        self.blob_cache = blob_cache if self.config.driver == "s3" else None
        backend = backend_class(self.config.driver)
        with translated(_NoTranslation(), self.config.root):
            self.backend: Backend = backend(self.config)

    @property
    def root(self) -> str:
        return self.backend.root

    def movie(self, movie_id: str) -> MovieFS:
        """The files of one movie (the id is validated here, once)."""
        return MovieFS(self, movie_id)

    def registered_blueprints(self) -> dict[str, bytes]:
        """Blueprint YAML files registered under `<root>/.blueprints/` (a name no movie id can take)."""
        folder = f"{self.backend.root.rstrip('/')}/{BLUEPRINTS_DIR}"
        with translated(self.backend, folder):
            files = [p for p in self.backend.find(folder) if p.endswith((".yaml", ".yml"))]
            return {p.rsplit("/", 1)[-1].rsplit(".", 1)[0]: self.backend.read(p) for p in sorted(files)}

    def register_blueprint(self, name: str, text: bytes) -> str:
        """Store a blueprint under `<root>/.blueprints/<name>.yaml` for every face to find; its path."""
        if not is_movie_id(name):
            raise InvalidId(f"blueprint name {name!r}: use letters, digits, '-' and '_'")
        path = f"{self.backend.root.rstrip('/')}/{BLUEPRINTS_DIR}/{name}.yaml"
        with translated(self.backend, path):
            self.backend.write_atomic(path, text)
        return path

    def list_movies(self) -> list[str]:
        """Movie ids present under the root (folders with a valid id)."""
        with translated(self.backend, self.backend.root):
            names = self.backend.list_dirs(self.backend.root)
        return sorted(m for m in names if is_movie_id(m))


@contextlib.contextmanager
def translated(backend: Backend, what: str) -> Iterator[None]:
    """OS and driver failures (disk full, read-only, permission, a server down) become one StorageError
    naming the path and the cause, so every face reports them as bad input, never as a traceback."""
    try:
        yield
    except MovieAssetsError:
        raise
    except FileNotFoundError as exc:
        raise NotFound(f"{what}: not found") from exc
    except OSError as exc:
        raise StorageError(f"{what}: {exc.strerror or exc}") from exc
    except Exception as exc:
        mapped = backend.translate(exc, what)
        if mapped is None:
            raise
        raise mapped from exc


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
        path = self.resolve(relative)
        with translated(self.backend, path):
            return self.backend.read(path)

    def read_from(self, relative: str, offset: int) -> bytes:
        """The file's bytes from `offset` on (b"" at or past its end; negative: from the end); NotFound if
        absent."""
        path = self.resolve(relative)
        with translated(self.backend, path):
            return self.backend.read_from(path, offset)

    def read_blob(self, relative: str) -> bytes:
        """`read` for a path `blob_path` built from a checked sha256: no second validation per blob."""
        path = f"{self.base}/{relative}"
        try:  # the hot path of every small-blob read: no context manager per call
            return self.backend.read(path)
        except MovieAssetsError:
            raise
        except Exception:
            with translated(self.backend, path):
                raise

    def open_read(self, relative: str) -> BinaryIO:
        path = self.resolve(relative)
        with translated(self.backend, path):
            return self.backend.open_read(path)

    def exists(self, relative: str) -> bool:
        path = self.resolve(relative)
        with translated(self.backend, path):
            return self.backend.exists(path)

    def list(self, prefix: str = "", ordered: bool = True, hidden: bool = False) -> list[str]:
        """Relative paths of all files under `prefix` (recursive), sorted unless `ordered` is False (a
        membership test over 10,000 blobs needs no order); `hidden` also returns internal files."""
        start = self.resolve(prefix)
        with translated(self.backend, start):
            found = self.backend.find(start)
        cut = len(self.base) + 1
        out = [path[cut:] for path in found] if hidden else [r for p in found if not is_internal(r := p[cut:])]
        return sorted(out) if ordered else out

    def stats(self, relatives: list[str]) -> list[FileStat | None]:
        """Size and modification time of each file (bookkeeping names admitted), None for one that is
        gone: for a few files of a listing that carried no metadata (`backend.listing_has_metadata`)."""
        paths = [self.resolve(relative, internal=True) for relative in relatives]
        with translated(self.backend, f"{len(paths)} files under {self.base}"):
            found = self.backend.stats(paths)
        return [None if f is None else FileStat(rel, *f) for rel, f in zip(relatives, found, strict=True)]

    def file_names(self, prefix: str) -> list[str]:
        """Names of every file under `prefix`, internal files included, for membership tests (a plan asks
        which of 10,000 blobs are stored: names alone cost half of relative paths)."""
        start = self.resolve(prefix)
        with translated(self.backend, start):
            return self.backend.file_names(start)

    def share_url(self, relative: str, seconds: int = 7 * 24 * 3600) -> str | None:
        """A URL a browser may fetch the file from (presigned on S3), or None on drivers without one."""
        path = self.resolve(relative)
        with translated(self.backend, path):
            return self.backend.share_url(path, seconds)

    def modified_time(self, relative: str, internal: bool = False) -> float:
        path = self.resolve(relative, internal)
        with translated(self.backend, path):
            return self.backend.modified_time(path)

    def scan(self, prefix: str = "", hidden: bool = False, ordered: bool = True) -> list[FileStat]:
        """Files under `prefix` with size and modification time, in one listing (no per-file stat calls).

        `hidden` also returns internal files (temp files, lock files, the staging area) for clean-up;
        `ordered=False` skips sorting (a GC pass over 200k blobs does not need an order).
        """
        start = self.resolve(prefix)
        with translated(self.backend, start):
            found = self.backend.scan(start)
        cut = len(self.base) + 1
        out = [FileStat(path[cut:], size, mtime) for path, size, mtime in found]  # one pass: GC lists 200k
        if not hidden:
            out = [stat for stat in out if not is_internal(stat.relative)]
        return sorted(out) if ordered else out

    # ---- writes ---------------------------------------------------------------------------------
    def touch(self, relative: str) -> None:
        """Set the file's modification time to now (content untouched); NotFound if it is gone."""
        path = self.resolve(relative)
        with translated(self.backend, path):
            self.backend.touch(path)

    def write_atomic(self, relative: str, data: bytes) -> None:
        """Replace the file's content all at once: readers see the old or the new bytes, never a mix."""
        path = self.resolve(relative)
        with translated(self.backend, path):
            self.backend.write_atomic(path, data)

    def copy(self, source: str, relative: str, size: int) -> None:
        """Replace the file at once with a copy of `source` (`size` bytes; both relative to the movie),
        copied in place where the storage can (S3: CopyObject); NotFound if `source` is absent."""
        path = self.resolve(relative)
        with translated(self.backend, self.resolve(source)):
            self.backend.copy(self.resolve(source), path, size)

    def write_if_absent(self, relative: str, data: bytes) -> bool:
        """Create the file with `data` unless it exists. True if this call created it."""
        path = self.resolve(relative)
        with translated(self.backend, path):
            return self.backend.write_if_absent(path, data)

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

        path = self.resolve(relative)
        with translated(self.backend, path):
            self.backend.compare_and_swap(path, check, data)

    def append_line(self, relative: str, make_line: bytes | Callable[[bytes | None], bytes], lines: int = 1) -> bytes:
        """Append `lines` lines (one by default) in one write, atomically (exclusive across processes for
        local files).

        `make_line` may be a callable that receives the last complete line (None if empty) under the
        lock, so callers can assign sequence numbers. A torn last line left by a crash is cut off first.
        """
        build = make_line if callable(make_line) else (lambda _last: make_line)

        def checked(last: bytes | None) -> bytes:
            line = build(last)
            if not line.endswith(b"\n") or line.count(b"\n") != lines or b"\n\n" in line:
                raise InvalidValue(f"append_line needs exactly {lines} line(s), each ending with a newline")
            return line

        path = self.resolve(relative)
        with translated(self.backend, path):
            return self.backend.append_line(path, checked)

    def update(self, relative: str, change: Callable[[bytes | None], bytes]) -> bytes:
        """Atomic read-modify-write: `change` maps the current bytes (None if absent) to the new bytes.

        No other update, append or compare-and-swap of the same path can interleave; `change` may be
        called more than once (on S3 it is retried when a concurrent writer wins) and must be pure.
        """
        path = self.resolve(relative)
        with translated(self.backend, path):
            return self.backend.update(path, change)

    def remove_all(self) -> None:
        """Remove the whole movie folder: every revision, blob and log (the movie id becomes free)."""
        with translated(self.backend, self.base):
            self.backend.remove_tree(self.base)

    def stage(self) -> StagedFile:
        """A file being written that becomes visible only on `publish` (create-only)."""
        return StagedFile(self)

    def delete(self, relative: str, internal: bool = False) -> None:
        """Remove a file; `internal` admits bookkeeping names (GC sweeping write debris)."""
        path = self.resolve(relative, internal)
        with translated(self.backend, path):
            self.backend.delete(path)

    def delete_others(self, folder: str, keep: set[str], suffix: str, listed: list[str] | None = None) -> int:
        """Delete every file in `folder` named `*suffix` but those in `keep` (pruning a cache to its live
        entries); how many went (Backend.discard). `listed`: the folder's files, if already listed."""
        names = self.list(folder, ordered=False) if listed is None else listed
        return self.delete_each([r for r in names if r not in keep and r.endswith(suffix)])

    def delete_each(self, relatives: list[str]) -> int:
        """Remove each file, passing one already gone; how many went (Backend.discard)."""
        paths = [self.resolve(relative) for relative in relatives]
        with translated(self.backend, f"deleting {len(paths)} files under {self.base}"):
            return self.backend.discard(paths) if paths else 0

    def delete_unless_newer(self, relatives: list[str], cutoff: float) -> list[bool | None]:
        """Delete each file (bookkeeping names admitted) last modified before `cutoff`: per file True
        (deleted), False (modified since: kept) or None (already gone). Hold the lock that orders it with
        writers refreshing a file's time."""
        paths = [self.resolve(relative, internal=True) for relative in relatives]
        with translated(self.backend, f"deleting {len(paths)} files under {self.base}"):
            return self.backend.delete_unless_newer(paths, cutoff)

    @contextlib.contextmanager
    def lease(self, relative: str, wait: bool = True) -> Iterator[None]:
        """The movie's run lease named after a path (see Backend.lease)."""
        path = self.resolve(relative, internal=True)
        with translated(self.backend, f"lease {path}"):
            lease = self.backend.lease(path, wait)
            lease.__enter__()
        try:
            yield
        finally:
            lease.__exit__(None, None, None)

    @contextlib.contextmanager
    def lock(self, relative: str) -> Iterator[None]:
        """Exclusive lock named after a path (not held by readers)."""
        path = self.resolve(relative)
        with translated(self.backend, f"lock {path}"):
            lock = self.backend.lock(path)
            lock.__enter__()
        try:
            yield
        finally:
            lock.__exit__(None, None, None)


class StagedFile:
    """A file being written that becomes visible only on `publish` (create-only)."""

    def __init__(self, fs: MovieFS) -> None:
        self._fs = fs
        staging = fs.resolve(STAGING_DIR)
        with translated(fs.backend, staging):
            self._handle = fs.backend.stage_open(staging)
        self.published: bool | None = None

    def write(self, data: bytes) -> None:
        with translated(self._fs.backend, self._fs.resolve(STAGING_DIR)):
            view = memoryview(data)
            while view:  # an unbuffered file may take part of a chunk (a disk filling up)
                written = self._handle.write(view)
                if not written:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]

    def publish(self, relative: str) -> bool:
        """Move the staged bytes to `relative` unless it exists; True if this call created it."""
        path = self._fs.resolve(relative)
        with translated(self._fs.backend, path):
            self.published = self._fs.backend.stage_publish(self._handle, path)
        return self.published

    def discard(self) -> None:
        self._fs.backend.stage_discard(self._handle)
