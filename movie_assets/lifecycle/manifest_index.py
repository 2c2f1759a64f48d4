"""Which blobs a stored manifest references, fast: from an index file beside it when the index still
matches the manifest's size and modification time, else decoded (only the hash fields) and indexed.

Manifests are written once and never change, so GC can read a 600 KB list of hashes instead of
decoding an 8 MB manifest on every run. An index that does not match its manifest exactly (a
rewritten file, a truncated index, a wrong count) is ignored and rebuilt: it can only cost time,
never mark less.
"""

from __future__ import annotations

import re

import msgspec

from movie_assets.errors import InvalidDocument, StorageError
from movie_assets.store.base import FileStat
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.storage import MovieFS

INDEX_DIR = "index"
_HASHES = re.compile(r"(?:[0-9a-f]{64}\n)*")


class _Blob(msgspec.Struct):
    hash: str


class _Artefact(msgspec.Struct):
    blob: _Blob


class _Job(msgspec.Struct):
    outputs: dict[str, _Blob] = {}


class _Clip(msgspec.Struct):
    blob: _Blob


class _Track(msgspec.Struct):
    clips: list[_Clip] = []


class _Timeline(msgspec.Struct):
    tracks: list[_Track] = []


class _References(msgspec.Struct):
    """The only fields of a manifest that name blobs (every other field is skipped while decoding)."""

    artefacts: dict[str, _Artefact] = {}
    jobs: dict[str, _Job] = {}
    timeline: _Timeline | None = None


_DECODER = msgspec.json.Decoder(_References)


def index_path(revision: str) -> str:
    return f"{INDEX_DIR}/{revision}.blobs"


def decode_blob_hashes(raw: bytes, where: str) -> set[str]:
    """Blob hashes named by a manifest's bytes; InvalidDocument when they cannot be read."""
    try:
        refs = _DECODER.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidDocument(f"{where}: cannot read its blob references ({exc}); nothing was swept") from None
    found = {entry.blob.hash for entry in refs.artefacts.values()}
    for job in refs.jobs.values():
        found.update(blob.hash for blob in job.outputs.values())
    if refs.timeline is not None:
        found.update(clip.blob.hash for track in refs.timeline.tracks for clip in track.clips)
    if any(len(h) != 64 for h in found) or not _HASHES.fullmatch("".join(f"{h}\n" for h in found)):
        raise InvalidDocument(f"{where}: a blob reference is not a sha256; nothing was swept")
    return found


def manifest_blob_hashes(fs: MovieFS, revision: str, stat: FileStat | None) -> set[str]:
    """The blob hashes of `manifests/<revision>.json`, through its index when that is current."""
    key = f"v2 {stat.size} {stat.mtime!r}" if stat is not None else None
    if key is not None:
        cached = _read_index(fs, revision, key)
        if cached is not None:
            return cached
    rel = f"manifests/{revision}.json"
    found = decode_blob_hashes(fs.read(rel), f"{fs.movie_id}/{rel}")
    if key is not None:
        body = "".join(f"{h}\n" for h in sorted(found))
        header = f"{key} {sha256_bytes(body.encode())} {len(found)}"
        try:  # an index is a cache: a read-only store or a full disk only costs the next GC its time
            fs.write_atomic(index_path(revision), f"{header}\n{body}".encode())
        except StorageError:
            pass
    return found


def _read_index(fs: MovieFS, revision: str, key: str) -> set[str] | None:
    try:
        text = fs.read(index_path(revision)).decode("ascii")
    except (StorageError, UnicodeDecodeError):
        return None  # absent (NotFound is a StorageError) or unreadable: decode the manifest instead
    header, _, body = text.partition("\n")
    stamp, _, count = header.rpartition(" ")
    stamp, _, digest = stamp.rpartition(" ")
    # the body's sha256 catches any damage (a flipped bit would under-mark a live blob) at a quarter of
    # the cost of checking every line against a pattern; then every line is a hash, written by us
    if stamp != key or not count.isdigit() or len(body) != 65 * int(count) or sha256_bytes(body.encode()) != digest:
        return None
    return set(body.split())
