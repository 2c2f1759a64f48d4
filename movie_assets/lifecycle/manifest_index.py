"""Which blobs a stored manifest references, fast: from a derived file (store/derived.py) when it still
stands for the manifest's size and modification time, else decoded (only the hash fields) and indexed.

Manifests are written once and never change, so GC can read a 600 KB list of hashes instead of
decoding an 8 MB manifest on every run. An index that does not match its manifest exactly (a
rewritten file, a truncated index, a wrong count) is ignored and rebuilt: it can only cost time,
never mark less.
"""

from __future__ import annotations

import re

import msgspec

from movie_assets.errors import InvalidDocument
from movie_assets.store.base import FileStat
from movie_assets.store.derived import INDEX_DIR, read_derived, write_derived
from movie_assets.store.storage import MovieFS

FORMAT = 3
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
    key = f"{stat.size} {stat.mtime!r}" if stat is not None else None
    if key is not None:
        body = read_derived(fs, index_path(revision), FORMAT, key=key, quiet=True)
        # the sha256 the helper checked catches any damage (a flipped bit would under-mark a live blob);
        # every line is then a hash, written by us
        if body is not None:
            return set(body.decode("ascii").split())
    rel = f"manifests/{revision}.json"
    found = decode_blob_hashes(fs.read(rel), f"{fs.movie_id}/{rel}")
    if key is not None:
        body = "".join(f"{h}\n" for h in sorted(found)).encode()
        write_derived(fs, index_path(revision), FORMAT, body, key=key, replace=True)
    return found
