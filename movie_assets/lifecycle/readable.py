"""Readable copies of text artefacts: `prompts/...txt` and `artifacts/text/<artefact id>.txt`.

They mirror the live revision: refreshed after every commit (and rollback) from the published
manifest, so a failed run never leaves its prompts on view and a reused older result shows its own
text again. They are conveniences, never inputs: the blob named in the manifest is the truth.
"""

from __future__ import annotations

import logging

from movie_assets.errors import MovieAssetsError, NotFound
from movie_assets.pipeline.blueprint.graph import ProducerGraph
from movie_assets.pipeline.models import OutputSpec
from movie_assets.store.blobs import BlobStore
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.models import BlobRef, Manifest
from movie_assets.store.parallel import each, io_threads, threads_for
from movie_assets.store.storage import MovieFS

TEXT_DIR = "artifacts/text"
COPY_FOLDERS = ("prompts", TEXT_DIR)  # where readable copies live
log = logging.getLogger(__name__)


def readable_path(output: OutputSpec) -> str | None:
    """The output's readable copy: its prompt file, `artifacts/text/<id>.txt` for other text, else None."""
    if output.prompt_file:
        return output.prompt_file
    return f"{TEXT_DIR}/{output.artefact_id}.txt" if output.mime_type.startswith("text/") else None


def refresh_readable(
    fs: MovieFS,
    graph: ProducerGraph,
    manifest: Manifest,
    kept: dict[str, str] | None = None,
    since: float | None = None,
) -> int:
    """Make every readable copy match `manifest`'s blob (`graph`: the manifest's expanded graph), several
    at once (on S3 each is a read and maybe a write); returns how many files were (re)written.

    `kept` (artefact id -> blob hash of the parent revision) and `since` (when the parent's copies were
    refreshed) spare reads: a copy of an unchanged artefact, of the right size and untouched since, holds
    its text already."""
    blobs = BlobStore(fs)
    wanted = []
    for node in graph.nodes.values():
        for output in node.outputs:
            path, entry = readable_path(output), manifest.artefacts.get(output.artefact_id)
            if path is not None and entry is not None:
                wanted.append((path, entry.blob, (kept or {}).get(output.artefact_id) == entry.blob.hash))

    # one listing per folder gives each copy's size and time: an absent copy, or one of another size, is
    # written without reading it first; a kept one is not read at all
    folders = sorted({item[0].split("/")[0] for item in wanted})
    scans = each(lambda folder: scan_copies(fs, folder), folders, threads_for(fs))
    stats = {stat.relative: stat for scan in scans for stat in scan}
    todo = []
    for path, blob, unchanged in wanted:
        stat = stats.get(path)
        if stat is not None and unchanged and stat.size == blob.size and since is not None and stat.mtime <= since:
            continue
        todo.append((path, blob, stat.size if stat else None))

    def one(item: tuple[str, BlobRef, int | None]) -> int:
        try:
            return _refresh_one(fs, blobs, *item)
        except MovieAssetsError as exc:  # one bad copy (path, missing blob, full disk) skips only itself
            log.warning("%s: readable copy %s not refreshed: %s", fs.movie_id, item[0], exc)
            return 0

    return sum(each(one, todo, io_threads(fs)))


def _refresh_one(fs: MovieFS, blobs: BlobStore, path: str, blob: BlobRef, size: int | None) -> int:
    if size == blob.size:
        try:
            if sha256_bytes(fs.read(path)) == blob.hash:
                return 0
        except NotFound:
            pass
    blobs.copy_to(blob, path)
    return 1


def edited_copies(
    fs: MovieFS,
    graph: ProducerGraph,
    manifest: Manifest,
    since: float | None,
    pinned: dict[str, str] | None,
    stats: dict,
) -> list[tuple[str, str]]:
    """(path, artefact id) of every readable copy that no longer holds its manifest's text: edited by
    hand, or written over, and not already pinned as it now reads (`pinned`: artefact id -> hash). A
    listing of each of COPY_FOLDERS (`stats`: relative path -> stat, from `scan_copies`) finds the
    candidates (a size other than the blob's, or a change after `since`, when the live revision's
    copies were refreshed); only those are read and hashed."""
    pinned = pinned or {}
    edited = []
    for node in graph.nodes.values():
        for output in node.outputs:
            path, entry = readable_path(output), manifest.artefacts.get(output.artefact_id)
            stat = stats.get(path) if path else None
            if stat is None or entry is None:
                continue
            if stat.size == entry.blob.size and since is not None and stat.mtime <= since:
                continue
            try:
                digest = sha256_bytes(fs.read(path))
                if digest != entry.blob.hash and pinned.get(output.artefact_id) != digest:
                    edited.append((path, output.artefact_id))
            except MovieAssetsError:
                continue
    return sorted(edited)


def scan_copies(fs: MovieFS, prefix: str) -> list:
    """Stats of the files below `prefix` (none if it is absent)."""
    try:
        return fs.scan(prefix)
    except NotFound:
        return []
