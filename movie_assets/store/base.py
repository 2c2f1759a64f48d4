"""The backend contract: every primitive the store needs, each with the guarantee callers rely on.

A backend works on absolute backend paths (already validated by `store.storage`); it never sees a
movie id. Each driver (local, memory, s3: one module each) says how it makes its writes atomic; the
local and memory drivers take their read-side operations from `FsspecBackend` (through an fsspec
filesystem), the s3 driver makes each with one botocore request.
"""

from __future__ import annotations

import abc
import contextlib
import datetime
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from movie_assets.errors import NotFound, StorageError

if TYPE_CHECKING:
    import fsspec

    from movie_assets.store.config import StorageConfig

log = logging.getLogger(__name__)

Check = Callable[[bytes | None], bool]
Change = Callable[[bytes | None], bytes]


class FileStat(NamedTuple):
    relative: str
    size: int
    mtime: float


class Backend(abc.ABC):
    """One storage driver. Paths are absolute backend paths; `root` is where movies live."""

    root: str
    # an object store's listing carries each file's size and time; a disk pays a stat call per file
    listing_has_metadata = True
    # each request is a network round trip: independent reads are worth issuing together
    remote = False

    @abc.abstractmethod
    def __init__(self, config: StorageConfig) -> None:
        """Bind the driver to `config.root` with `config.options`; never creates anything."""

    @property
    def identity(self) -> tuple:
        """Where this driver's bytes live, equal for two drivers bound to the same place: what a process
        keeps (folds, indexes) is keyed by it, so a store built again per request (the
        viewer) finds what the last one kept."""
        return (type(self).__name__, self.root)

    # ---- reads ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def read(self, path: str) -> bytes:
        """The file's whole content as last written by a completed write; NotFound if absent."""

    def read_from(self, path: str, offset: int) -> bytes:
        """The file's bytes from `offset` to its end (b"" at or past the end); a negative offset counts
        from the end, as a slice does (the whole file if it is shorter); NotFound if absent. For reading
        what an append-only log gained since it was last read, or only its last lines."""
        return self.read(path)[offset:]

    @abc.abstractmethod
    def open_read(self, path: str) -> BinaryIO:
        """A binary stream of the file (bounded memory for large files); NotFound if absent."""

    @abc.abstractmethod
    def exists(self, path: str) -> bool:
        """True if a file (not a folder) is at `path`."""

    @abc.abstractmethod
    def find(self, path: str) -> list[str]:
        """Every file below `path`, recursively, without per-file metadata calls; [] if absent."""

    def file_names(self, path: str) -> list[str]:
        """Names (last path component only) of every file below `path`, recursively; [] if absent. For
        membership tests over thousands of files: no path is built or checked per file."""
        return [found.rsplit("/", 1)[-1] for found in self.find(path)]

    @abc.abstractmethod
    def list_dirs(self, path: str) -> list[str]:
        """Names of the immediate sub-folders of `path`; [] if absent."""

    @abc.abstractmethod
    def scan(self, path: str) -> list[tuple[str, int, float]]:
        """(path, size, mtime) of every file below `path` in one listing; files removed meanwhile are left out."""

    @abc.abstractmethod
    def modified_time(self, path: str) -> float:
        """The file's modification time (epoch seconds); NotFound if absent."""

    def stats(self, paths: list[str]) -> list[tuple[int, float] | None]:
        """(size, modification time) of each file, or None for one that is absent."""
        found: list[tuple[int, float] | None] = []
        for path in paths:
            try:
                found.append(self.stat(path))
            except NotFound:
                found.append(None)
        return found

    @abc.abstractmethod
    def stat(self, path: str) -> tuple[int, float]:
        """(size, modification time) of the file; NotFound if absent."""

    # ---- writes ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def touch(self, path: str) -> None:
        """Set the modification time to now without changing the bytes; NotFound if absent."""

    @abc.abstractmethod
    def write_atomic(self, path: str, data: bytes) -> None:
        """Replace the content at once: a reader sees the old bytes or the new ones, never a mix."""

    def copy(self, source: str, path: str, size: int) -> None:
        """Replace `path` at once (as write_atomic) with the bytes of `source` (`size` long), copied in
        place where the backend can, so they never pass through this process; NotFound if `source` is absent."""
        self.write_atomic(path, self.read(source))

    @abc.abstractmethod
    def write_if_absent(self, path: str, data: bytes) -> bool:
        """Create the file unless it exists (one winner among racing writers); True if this call created it."""

    @abc.abstractmethod
    def compare_and_swap(self, path: str, check: Check, data: bytes) -> None:
        """Write `data` only if `check(current bytes or None)` holds at the moment of the swap, else CasConflict."""

    @abc.abstractmethod
    def update(self, path: str, change: Change) -> bytes:
        """Atomic read-modify-write excluding every other update/append/CAS of `path`; `change` may be retried."""

    @abc.abstractmethod
    def append_line(self, path: str, build: Change) -> bytes:
        """Append `build(last complete line or None)` as one line, exclusive across writers; cuts a torn tail first."""

    @abc.abstractmethod
    def stage_open(self, staging_dir: str) -> BinaryIO:
        """A writable handle whose bytes become visible only through `stage_publish`."""

    @abc.abstractmethod
    def stage_publish(self, handle: BinaryIO, path: str) -> bool:
        """Publish staged bytes at `path` create-only; True if this call created it (else the bytes are dropped)."""

    @abc.abstractmethod
    def stage_discard(self, handle: BinaryIO) -> None:
        """Drop staged bytes that will not be published."""

    @abc.abstractmethod
    def delete(self, path: str) -> None:
        """Remove the file; NotFound if it is already gone."""

    def discard(self, paths: list[str]) -> int:
        """Remove each file, passing one already gone; how many went (where a backend cannot tell, as
        S3's batch delete, how many it was asked to remove)."""
        removed = 0
        for path in paths:
            try:
                self.delete(path)
                removed += 1
            except NotFound:
                pass
        return removed

    def delete_unless_newer(self, paths: list[str], cutoff: float) -> list[bool | None]:
        """Delete each file last modified before `cutoff`. Per path: True (deleted), False (modified at or
        after `cutoff`: kept) or None (already gone). The caller holds the lock that writers refreshing a
        file's time take, so a file checked old is not refreshed before it goes (the GC sweep)."""
        done: list[bool | None] = []
        for path in paths:
            try:
                if self.modified_time(path) >= cutoff:
                    done.append(False)
                    continue
                self.delete(path)
                done.append(True)
            except NotFound:
                done.append(None)
        return done

    @abc.abstractmethod
    def remove_tree(self, path: str) -> None:
        """Remove `path` and everything below it (a whole movie); NotFound if nothing is there."""

    @abc.abstractmethod
    def lock(self, path: str) -> contextlib.AbstractContextManager[None]:
        """An exclusive lock named after `path`, released even if its holder dies (no stale locks)."""

    @contextlib.contextmanager
    def lease(self, path: str, wait: bool) -> Iterator[None]:
        """Held while one run of a movie goes on: another run waits for it (`wait`), a delete refuses
        (RunInProgress). Released when its holder ends or dies. A driver without one lets runs overlap,
        which is safe (the commit's compare-and-swap decides) but may pay for work twice."""
        yield

    def share_url(self, path: str, seconds: int) -> str | None:
        """A URL a browser may fetch the file from for `seconds`, or None when the driver has none."""
        return None

    def translate(self, exc: BaseException, what: str) -> StorageError | None:
        """The StorageError to raise for a driver-specific failure of an operation on `what` (None: not
        ours). OS errors are translated for every driver by the caller."""
        return None


class FsspecBackend(Backend, abc.ABC):
    """Read-side operations through an fsspec filesystem; drivers override what they do better."""

    fs: fsspec.AbstractFileSystem

    def read(self, path: str) -> bytes:
        try:
            return self.fs.cat_file(path)
        except FileNotFoundError:
            raise NotFound(path) from None
        except IsADirectoryError:
            raise NotFound(f"{path} is a directory") from None

    def read_from(self, path: str, offset: int) -> bytes:
        try:
            return self.fs.cat_file(path, start=offset)
        except FileNotFoundError:
            raise NotFound(path) from None
        except IsADirectoryError:
            raise NotFound(f"{path} is a directory") from None

    def open_read(self, path: str) -> BinaryIO:
        try:
            return self.fs.open(path, "rb")
        except FileNotFoundError:
            raise NotFound(path) from None

    def exists(self, path: str) -> bool:
        return self.fs.exists(path)

    def find(self, path: str) -> list[str]:
        try:
            return [self._strip(p) for p in self.fs.find(path)]
        except FileNotFoundError:
            return []

    def list_dirs(self, path: str) -> list[str]:
        try:
            entries = self.fs.ls(path, detail=True)
        except FileNotFoundError:
            return []
        return [self._strip(e["name"]).rsplit("/", 1)[-1] for e in entries if e["type"] == "directory"]

    def modified_time(self, path: str) -> float:
        try:
            return self.fs.modified(path).timestamp()
        except FileNotFoundError:
            raise NotFound(path) from None

    def stat(self, path: str) -> tuple[int, float]:
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            raise NotFound(path) from None
        return int(info.get("size") or 0), info_mtime(info)

    def delete(self, path: str) -> None:
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            raise NotFound(path) from None

    def remove_tree(self, path: str) -> None:
        if not self.fs.exists(path):
            raise NotFound(path)
        self.fs.rm(path, recursive=True)

    def scan(self, path: str) -> list[tuple[str, int, float]]:
        try:
            found = self.fs.find(path, detail=True)
        except FileNotFoundError:
            return []
        return [(self._strip(name), int(info.get("size") or 0), info_mtime(info)) for name, info in found.items()]

    def _strip(self, path: str) -> str:
        return path.rstrip("/")


def info_mtime(info: dict) -> float:
    """Modification time from an fsspec info dict, whichever key the filesystem uses."""
    for key in ("mtime", "LastModified", "modified", "created"):
        value = info.get(key)
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
    return 0.0


def drop_torn_tail(current: bytes, path: str) -> bytes:
    """Bytes of a log without an unterminated last line (left by an interrupted writer)."""
    if current and not current.endswith(b"\n"):
        log.warning("%s: cutting a torn last line left by an interrupted write", path)
        return current[: current.rfind(b"\n") + 1]
    return current
