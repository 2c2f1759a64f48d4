"""One helper for derived files: caches a fresh process may read instead of computing, never the truth.

Every index and stored copy under a movie's `index/` (stored graphs and baselines, the results index,
the manifests' blob lists, the fold of pending inputs) is written and read through here, so each holds
the same guarantees:

- an envelope stamped with its kind's format and a key saying what it stands for;
- the body's sha256, checked on every read: a damaged file is found before it is used;
- written create-only (or, for a file whose key lives inside it, replaced atomically);
- a file that is absent is None; one that does not hold (another format or key, damaged, unreadable) is
  None with one warning; a store that cannot take the write (read-only, full) only loses the cache.

Deleting `index/` loses nothing but time.
"""

from __future__ import annotations

import logging

import msgspec

from movie_assets.errors import NotFound, StorageError
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.storage import MovieFS

log = logging.getLogger(__name__)

INDEX_DIR = "index"


class _Envelope(msgspec.Struct, array_like=True):
    format: int
    key: str
    body: bytes
    sha256: str


_DECODER = msgspec.msgpack.Decoder(_Envelope)
_ENCODER = msgspec.msgpack.Encoder()


def write_derived(fs: MovieFS, rel: str, fmt: int, body: bytes, key: str = "", replace: bool = False) -> bool:
    """Store `body` at `rel` stamped with `fmt` and `key`; create-only unless `replace`. False when it was
    there already or the store refused the write (a cache: the caller computes again next time)."""
    data = _ENCODER.encode(_Envelope(fmt, key, body, sha256_bytes(body)))
    try:
        if replace:
            fs.write_atomic(rel, data)
            return True
        return fs.write_if_absent(rel, data)
    except StorageError as exc:
        log.warning("%s/%s: cannot store a derived file (%s); it will be computed again", fs.movie_id, rel, exc)
        return False


def read_derived(fs: MovieFS, rel: str, fmt: int, key: str = "", quiet: bool = False) -> bytes | None:
    """The body stored at `rel` if it is of format `fmt`, stands for `key` and is intact; else None
    (with a warning unless the file is absent, or `quiet` for a key mismatch the caller expects)."""
    try:
        envelope = _DECODER.decode(fs.read(rel))
    except NotFound:
        return None
    except (StorageError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        return _ignore(fs, rel, f"cannot be read ({exc})")
    if envelope.format != fmt:
        return _ignore(fs, rel, f"has format {envelope.format}, not {fmt}")
    if envelope.key != key:
        return None if quiet else _ignore(fs, rel, f"stands for {envelope.key!r}, not {key!r}")
    if sha256_bytes(envelope.body) != envelope.sha256:
        return _ignore(fs, rel, "is damaged")
    return envelope.body


def prune_derived(fs: MovieFS, folder: str, keep: set[str], suffix: str, listed: list[str] | None = None) -> int:
    """Delete the derived files under `folder` ending in `suffix`, except `keep`; how many went.
    `listed`: the folder's files, if the caller has listed them already."""
    try:
        return fs.delete_others(folder, keep, suffix, listed)
    except StorageError as exc:
        log.warning("%s/%s: cannot prune derived files (%s)", fs.movie_id, folder, exc)
        return 0


def _ignore(fs: MovieFS, rel: str, why: str) -> None:
    log.warning("%s/%s: ignoring a derived file that %s; computing it instead", fs.movie_id, rel, why)
    return None


class DerivedFolder:
    """Named derived files of one kind in one folder: a producer's cache of intermediate results (the
    final cut's encoded shots), each named by the content it stands for."""

    def __init__(self, fs: MovieFS, folder: str, fmt: int = 1) -> None:
        self.fs, self.folder, self.fmt = fs, folder, fmt

    def _path(self, name: str) -> str:
        return f"{self.folder}/{name}.bin"

    def get(self, name: str) -> bytes | None:
        """The bytes stored under `name`, if they are there and intact."""
        return read_derived(self.fs, self._path(name), self.fmt, key=name, quiet=True)

    def put(self, name: str, data: bytes) -> None:
        write_derived(self.fs, self._path(name), self.fmt, data, key=name)

    def retain(self, names: set[str]) -> int:
        """Delete every entry but `names` (what the last use needed); how many went."""
        return prune_derived(self.fs, self.folder, {self._path(n) for n in names}, ".bin")
