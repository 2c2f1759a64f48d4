"""Local disk: temp file + rename for atomic writes, hard links for create-only, flock for exclusion."""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from movie_assets.errors import CasConflict, NotFound, RunInProgress, StorageError
from movie_assets.store.base import Change, Check, FsspecBackend
from movie_assets.store.local_listing import file_names, files

if TYPE_CHECKING:
    import fsspec

    from movie_assets.store.config import StorageConfig

T = TypeVar("T")

try:  # flock exists on every POSIX system; the local driver needs it for cross-process safety
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class LocalBackend(FsspecBackend):
    """Local disk: temp file + rename for atomic writes, hard links for create-only, flock for exclusion."""

    listing_has_metadata = False  # each file's size and time cost a stat call

    def __init__(self, config: StorageConfig) -> None:
        self.root = os.path.abspath(os.path.expanduser(config.root)).rstrip("/")
        self.fsync = bool(config.options.get("fsync", False))
        # the root is created by the first write, never by a read (a mistyped --root leaves no folder)

    @functools.cached_property
    def fs(self) -> fsspec.AbstractFileSystem:  # type: ignore[override]
        """fsspec's local filesystem, for callers that want one: every operation here goes to the OS, and
        a command that touches only a local root need not import fsspec."""
        import fsspec

        return fsspec.filesystem("file")

    def read(self, path: str) -> bytes:
        with self.open_read(path) as handle:
            return handle.read()

    def read_from(self, path: str, offset: int) -> bytes:
        with self.open_read(path) as handle:
            if offset < 0:
                offset = max(0, os.fstat(handle.fileno()).st_size + offset)
            handle.seek(offset)
            return handle.read()

    def open_read(self, path: str) -> BinaryIO:
        # straight to the OS: fsspec's opener costs more than reading a small blob itself. Never through a
        # link: every file of a store is ours, so a link placed in it (blobs/ab/<hash> -> /etc/shadow) is
        # hostile and its target is not served
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(path) from None
        except IsADirectoryError:
            raise NotFound(f"{path} is a directory") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StorageError(f"{path} is a symbolic link, which a store never holds; not read") from None
            raise
        return os.fdopen(fd, "rb")

    def _tmp_path(self, path: str) -> str:
        head, tail = os.path.split(path)
        return os.path.join(head, f".{tail}.{unique_name()}.tmp")

    def _write_tmp(self, path: str, data: bytes | BinaryIO) -> str:
        tmp = self._tmp_path(path)
        with _in_new_folder_if_needed(lambda: open(tmp, "xb"), path) as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                shutil.copyfileobj(data, handle, 1024 * 1024)
            if self.fsync:
                handle.flush()
                os.fsync(handle.fileno())
        return tmp

    def copy(self, source: str, path: str, size: int) -> None:
        with open(source, "rb") as handle:  # streamed: a film is not held in memory
            self.write_atomic(path, handle)

    def write_atomic(self, path: str, data: bytes | BinaryIO) -> None:
        tmp = self._write_tmp(path, data)
        try:
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise

    def write_if_absent(self, path: str, data: bytes) -> bool:
        tmp = self._write_tmp(path, data)
        return self._link_into_place(tmp, path)

    def _link_into_place(self, tmp: str, path: str) -> bool:
        try:
            _in_new_folder_if_needed(lambda: os.link(tmp, path), path)
            return True
        except FileExistsError:
            return False
        finally:
            _unlink_quietly(tmp)

    @contextlib.contextmanager
    def lock(self, path: str) -> Iterator[None]:
        # flock is released by the kernel when a process dies, so a SIGKILLed writer never leaves a stale lock.
        with _flocked(f"{path}.lock", wait=True):
            yield

    @contextlib.contextmanager
    def lease(self, path: str, wait: bool) -> Iterator[None]:
        with _flocked(f"{path}.lease", wait):
            yield

    def compare_and_swap(self, path: str, check: Check, data: bytes) -> None:
        with self.lock(path):
            try:
                with open(path, "rb") as handle:
                    current: bytes | None = handle.read()
            except FileNotFoundError:
                current = None
            if not check(current):
                raise CasConflict(f"{path} changed since it was read")
            self.write_atomic(path, data)

    def update(self, path: str, change: Change) -> bytes:
        with self.lock(path):
            try:
                with open(path, "rb") as handle:
                    current: bytes | None = handle.read()
            except FileNotFoundError:
                current = None
            new = change(current)
            self.write_atomic(path, new)
            return new

    def append_line(self, path: str, build: Change) -> bytes:
        with self.lock(path):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                last = _cut_torn_tail_and_read_last_line(fd, path)
                line = build(last)
                size = os.lseek(fd, 0, os.SEEK_END)
                try:
                    written = os.write(fd, line)
                    if written != len(line):  # a full disk may take part of the line
                        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (only part of the line fit)")
                except OSError:
                    os.ftruncate(fd, size)  # never leave a torn line behind a failed append
                    raise
                if self.fsync:
                    os.fsync(fd)
                return line
            finally:
                os.close(fd)

    def stage_open(self, staging_dir: str) -> BinaryIO:
        staged = os.path.join(staging_dir, f"{unique_name()}.tmp")
        # unbuffered: blobs are written in large chunks, and a buffered file costs two more syscalls to
        # open (a terminal check and a seek), which on a slow file system showed in the runner's time
        return _in_new_folder_if_needed(lambda: open(staged, "xb", buffering=0), staged)

    def stage_publish(self, handle: BinaryIO, path: str) -> bool:
        if self.fsync:
            handle.flush()
            os.fsync(handle.fileno())
        handle.close()
        return self._link_into_place(handle.name, path)

    def stage_discard(self, handle: BinaryIO) -> None:
        handle.close()
        _unlink_quietly(handle.name)

    def stats(self, paths: list[str]) -> list[tuple[int, float] | None]:
        return [_size_and_time(path) for path in paths]

    def stat(self, path: str) -> tuple[int, float]:
        found = _size_and_time(path)
        if found is None:
            raise NotFound(path)
        return found

    def modified_time(self, path: str) -> float:
        # one stat call: fsspec's info builds a whole record per file, a third of a GC sweep's time
        try:
            return os.stat(path).st_mtime
        except FileNotFoundError:
            raise NotFound(path) from None

    def delete(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            raise NotFound(path) from None

    def delete_unless_newer(self, paths: list[str], cutoff: float) -> list[bool | None]:
        # An unlink waits on the device when the file system discards freed blocks; several at a time
        # overlap those waits.
        if len(paths) < _PARALLEL_DELETES:
            return [_delete_if_older(path, cutoff) for path in paths]
        from concurrent.futures import ThreadPoolExecutor  # only a sweep needs it: keep start-up lean

        with ThreadPoolExecutor(_PARALLEL_DELETES) as pool:
            return list(pool.map(functools.partial(_delete_if_older, cutoff=cutoff), paths, chunksize=16))

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def list_dirs(self, path: str) -> list[str]:
        try:
            with os.scandir(path) as entries:
                return [e.name for e in entries if e.is_dir()]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def remove_tree(self, path: str) -> None:
        if not os.path.exists(path):
            raise NotFound(path)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)

    def find(self, path: str) -> list[str]:
        return [entry.path for entry in files(path)]

    def file_names(self, path: str) -> list[str]:
        return file_names(path)

    def scan(self, path: str) -> list[tuple[str, int, float]]:
        out = []
        for entry in files(path):
            try:
                st = entry.stat()
            except FileNotFoundError:  # removed while we listed
                continue
            out.append((entry.path, st.st_size, st.st_mtime))
        return out

    def touch(self, path: str) -> None:
        try:
            os.utime(path)
        except FileNotFoundError:
            raise NotFound(path) from None


_NAME_PREFIX = uuid.uuid4().hex[:16]  # this process's; a fork keeps it, but not the pid
_NAME_COUNT = itertools.count()


def unique_name() -> str:
    """A temp file name no other writer makes: this process's random prefix, its pid and a counter. A
    uuid4 per file read the kernel's random source each time (~25 µs of a runner job here). The files are
    opened exclusive-create, so even a repeated name could never write into another writer's file."""
    return f"{_NAME_PREFIX}{os.getpid():x}-{next(_NAME_COUNT):x}"


@contextlib.contextmanager
def _flocked(path: str, wait: bool) -> Iterator[None]:
    fd = _in_new_folder_if_needed(lambda: os.open(path, os.O_RDWR | os.O_CREAT, 0o644), path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise RunInProgress(f"{path}: held by another process (a run of this movie is going on)") from None
        yield
    finally:
        os.close(fd)


def _in_new_folder_if_needed(create: Callable[[], T], path: str) -> T:
    """Create something at `path`, making its folder only when it is missing. Most writes go into a
    folder that exists; a `makedirs` before each would cost a failing mkdir per write."""
    try:
        return create()
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return create()


_PARALLEL_DELETES = 8


def _size_and_time(path: str) -> tuple[int, float] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime


def _delete_if_older(path: str, cutoff: float) -> bool | None:
    try:
        if os.stat(path).st_mtime >= cutoff:
            return False
        os.unlink(path)
        return True
    except FileNotFoundError:
        return None


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _cut_torn_tail_and_read_last_line(fd: int, path: str) -> bytes | None:
    """Return the last complete line; truncate an unterminated tail left by a crashed writer."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return None
    block = 4096
    pos = size
    tail = b""
    while pos > 0:
        step = min(block, pos)
        pos -= step
        tail = os.pread(fd, step, pos) + tail
        # we need the last newline and, if the file ends with one, the newline before it
        body = tail[:-1] if tail.endswith(b"\n") else tail
        if b"\n" in body or pos == 0:
            break
        block *= 2
    if not tail.endswith(b"\n"):
        cut = tail.rfind(b"\n")
        keep = pos + cut + 1 if cut >= 0 else 0
        log.warning("%s: cutting a torn last line of %d bytes left by an interrupted write", path, size - keep)
        os.ftruncate(fd, keep)
        tail = tail[: cut + 1] if cut >= 0 else b""
        if not tail:
            return _cut_torn_tail_and_read_last_line(fd, path) if keep else None
    body = tail[:-1]
    start = body.rfind(b"\n")
    return body[start + 1 :] if start >= 0 else body
