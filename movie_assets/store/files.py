"""Files a user hands in (overrides, input files, blueprints, prompt files) and files we write for them.

A path given to us is read only if it is a regular file, opened without following a link and without
blocking: a symlink (to /etc/shadow, say) is refused, not followed; a FIFO or a device is refused, not
waited on. What we write beside a user's file (`export -o`) is created exclusively without following
a link, so a link planted at that name in a shared folder is never written through.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from movie_assets.errors import InvalidValue


def open_regular(path: str | Path) -> BinaryIO:
    """`path` opened for reading if it is a regular file (not a link, FIFO, device or folder);
    InvalidValue naming the path otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == getattr(os, "ELOOP", None) or os.path.islink(path):
            raise InvalidValue(f"{path}: is a symbolic link; give the file itself") from None
        raise InvalidValue(f"{path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
            raise InvalidValue(f"{path}: is {kind}; give a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file (see open_regular), refused past `limit` bytes without reading them all."""
    with open_regular(path) as handle:
        data = handle.read() if limit is None else handle.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise InvalidValue(f"{path}: is over the {limit:,}-byte limit")
    return data


def create_exclusive(path: str | Path) -> BinaryIO:
    """A new file at `path` for writing: never an existing file, never through a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        raise InvalidValue(f"{path}: already exists (a stale partial file or a link); remove it first") from None
    except OSError as exc:
        raise InvalidValue(f"{path}: {exc.strerror or exc}") from None
    return os.fdopen(fd, "wb")
