"""Listing a local root's folders from directory entries alone, and the listings a long-lived process
keeps while a folder's mtime says nothing changed."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from movie_assets.store.cache import BoundedCache

# Folder listings a long-lived process keeps, by path: (mtime_ns, file names, sub-folder names).
_LISTINGS: BoundedCache[tuple[int, list[str], list[str]]] = BoundedCache(4096)
SETTLED_NS = 5 * 10**9  # longer than any file system's time stamp tick (FAT's is 2 s)


def file_names(path: str) -> list[str]:
    """Every file name below `path` (none if it is absent), each folder listed again only once its mtime
    moved. A folder's mtime moves whenever an entry is added to, removed from or renamed in it, so a
    listing made while it read M holds while it reads M. Only folders whose M was already SETTLED_NS old
    are kept: a file system stamps times in ticks, and a change within the listing's tick would keep M.
    Every plan lists its movie's blobs; a long-lived process's next plan stats the 257 folders instead
    of listing every file again."""
    names: list[str] = []
    folders = [path]
    now = time.time_ns()  # before any stat: a change after a folder's stat is stamped after `now` - a tick
    while folders:
        folder = folders.pop()
        try:
            mtime = os.stat(folder).st_mtime_ns
            kept = _LISTINGS.get(folder)
            if kept is None or kept[0] != mtime:
                files, subfolders = [], []
                with os.scandir(folder) as entries:
                    for entry in entries:
                        (subfolders if entry.is_dir(follow_symlinks=False) else files).append(entry.name)
                kept = (mtime, files, subfolders)
                if now - mtime > SETTLED_NS:
                    _LISTINGS.put(folder, kept)
        except (FileNotFoundError, NotADirectoryError):
            continue
        names.extend(kept[1])
        folders.extend(f"{folder}/{name}" for name in kept[2])
    return names


def files(path: str) -> Iterator[os.DirEntry]:
    """Every file below `path` (none if it is absent), from directory entries only: fsspec's local find
    stats every file, and scandir builds each path in C."""
    folders = [path]
    while folders:
        try:
            entries = os.scandir(folders.pop())
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                else:
                    yield entry
