"""Garbage collection: mark what any revision or unfinished run references, sweep the rest.

Safe against writers running at the same time:
- only files older than the grace period are candidates, so a blob a run has just written but not
  yet logged is never swept;
- a dedup hit (BlobStore.put of bytes already stored) refreshes the old blob's mtime under GC_LOCK,
  and the sweep re-reads each candidate's mtime under that same lock just before deleting it, so a
  blob re-referenced after the mark phase either looks young (kept) or is gone before the writer
  looks (and is stored again by the writer).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from movie_assets.errors import InvalidDocument, InvalidValue, NotFound
from movie_assets.lifecycle.readable import TEXT_DIR
from movie_assets.pipeline.models import ExecutionPlan, RunProgress
from movie_assets.store.base import FileStat
from movie_assets.store.blobs import GC_LOCK, blob_path
from movie_assets.store.events import EventLog, FileEventLog
from movie_assets.store.hashing import is_sha256, sha256_bytes
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import Manifest, RevisionId
from movie_assets.store.paths import STAGING_DIR, is_internal
from movie_assets.store.storage import MovieFS

SWEEP_BATCH = 500
_PLAN_SUFFIX = "-plan.json"
_PROGRESS_SUFFIX = "-progress.json"
_READABLE = ("prompts/", f"{TEXT_DIR}/")


@dataclass
class GcReport:
    movie_id: str
    dry_run: bool
    marked_blobs: int = 0
    candidates: int = 0
    files_freed: int = 0
    bytes_freed: int = 0
    freed: list[str] = field(default_factory=list)
    kept_young: int = 0


def manifest_blob_hashes(manifest: Manifest) -> set[str]:
    """Every blob a manifest references: artefacts, job outputs and timeline clips."""
    found = {entry.blob.hash for entry in manifest.artefacts.values()}
    for record in manifest.jobs.values():
        found.update(ref.hash for ref in record.outputs.values())
    if manifest.timeline:
        found.update(clip.blob.hash for track in manifest.timeline.tracks for clip in track.clips)
    return found


def _plan_blob_hashes(plan: ExecutionPlan) -> set[str]:
    return {ref.hash for record in plan.carried.values() for ref in record.outputs.values()}


def _progress_blob_hashes(progress: RunProgress) -> set[str]:
    return {ref.hash for result in progress.results.values() if result.record for ref in result.record.outputs.values()}


class GarbageCollector:
    """Mark-and-sweep over one movie's blobs, prompt and text files, and staging debris."""

    def __init__(self, fs: MovieFS, events: EventLog | None = None, clock=time.time) -> None:
        self.fs = fs
        self.movie_id = fs.movie_id
        self.events = events or FileEventLog(fs)
        self.manifests = ManifestService(fs)
        self.clock = clock

    def mark(self, cutoff: float) -> set[str]:
        """Blob hashes referenced by any manifest, any run not yet committed or younger than the cutoff,
        and any producer result logged after the live revision (a failed run's results, kept for reuse)."""
        marked: set[str] = set()
        for revision in self.manifests.history():
            marked |= self._manifest_hashes(revision, marked)
        current = self.manifests.load_current().manifest
        for stat in self.fs.scan("runs"):
            name = stat.relative.rsplit("/", 1)[-1]
            if not name.endswith((_PLAN_SUFFIX, _PROGRESS_SUFFIX)):
                continue
            revision = RevisionId(name.split("-plan")[0].split("-progress")[0])
            if revision.number <= current.revision.number and stat.mtime < cutoff:
                continue  # a committed (or superseded) run older than the grace period
            raw = self.fs.read(stat.relative)
            where = f"{self.movie_id}/{stat.relative}"
            if name.endswith(_PLAN_SUFFIX):
                marked |= _plan_blob_hashes(ExecutionPlan.parse_document(raw, where))
            else:
                marked |= _progress_blob_hashes(RunProgress.parse_document(raw, where))
        for event in self.events.stream_artefacts(after=current.artefact_cursor):
            if event.output:
                marked.add(event.output.hash)
        return marked

    def _manifest_hashes(self, revision: RevisionId, known: set[str] | frozenset[str] = frozenset()) -> set[str]:
        """Blob hashes of one stored manifest, read as plain JSON (a full model parse of every manifest
        dominated GC time); anything unexpected aborts the collection rather than under-marking."""
        rel = f"manifests/{revision}.json"
        where = f"{self.movie_id}/{rel}"
        try:
            doc = json.loads(self.fs.read(rel))
            found = {entry["blob"]["hash"] for entry in doc.get("artefacts", {}).values()}
            for record in doc.get("jobs", {}).values():
                found.update(ref["hash"] for ref in record.get("outputs", {}).values())
            timeline = doc.get("timeline") or {}
            for track in timeline.get("tracks", []):
                found.update(clip["blob"]["hash"] for clip in track.get("clips", []))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidDocument(f"{where}: cannot read its blob references ({exc}); nothing was swept") from None
        found -= known  # hashes already checked in an earlier manifest (most of them, revision to revision)
        if not all(is_sha256(h) for h in found):
            raise InvalidDocument(f"{where}: a blob reference is not a sha256; nothing was swept")
        return found

    def collect(self, grace_seconds: float = 3600.0, dry_run: bool = False) -> GcReport:
        """Sweep unreferenced files older than `grace_seconds`; `dry_run` only reports what would go."""
        if grace_seconds < 0:
            raise InvalidValue("the grace period cannot be negative")
        report = GcReport(self.movie_id, dry_run)
        cutoff = self.clock() - grace_seconds
        # list candidates before marking: a blob written after this listing is not a candidate at all.
        blobs, readable, debris = self._listing()
        marked = self.mark(cutoff)
        report.marked_blobs = len(marked)
        candidates = [stat for stat in blobs if stat.relative.rsplit("/", 1)[-1] not in marked]
        # readable copies are marked by their content hash, like the blob they copy
        candidates += [stat for stat in readable if self._prompt_hash(stat) not in marked]
        candidates += debris
        report.candidates = len(candidates)
        old = [c for c in candidates if c.mtime < cutoff]
        report.kept_young = len(candidates) - len(old)
        for batch in _batches(old, SWEEP_BATCH):
            self._sweep(batch, cutoff, report)
        return report

    def _listing(self) -> tuple[list[FileStat], list[FileStat], list[FileStat]]:
        """Blob files, readable copies and write debris, from one listing of the whole movie
        (a listing per folder stat'd every blob twice)."""
        blobs, readable, debris = [], [], []
        for stat in self.fs.scan("", hidden=True):
            if _is_debris(stat.relative):
                debris.append(stat)
            elif is_internal(stat.relative):
                continue
            elif stat.relative.startswith("blobs/"):
                name = stat.relative.rsplit("/", 1)[-1]
                if is_sha256(name) and stat.relative == blob_path(name):  # else not ours to delete
                    blobs.append(stat)
            elif stat.relative.startswith(_READABLE):
                readable.append(stat)
        return blobs, readable, debris

    def _prompt_hash(self, stat: FileStat) -> str | None:
        try:
            return sha256_bytes(self.fs.read(stat.relative))
        except NotFound:
            return None

    def _sweep(self, batch: list[FileStat], cutoff: float, report: GcReport) -> None:
        with self.fs.lock(GC_LOCK):
            for stat in batch:
                try:
                    if not report.dry_run and self.fs.modified_time(stat.relative) >= cutoff:
                        report.kept_young += 1  # re-referenced (freshened) since we listed it
                        continue
                    if not report.dry_run:
                        self.fs.delete(stat.relative)
                except NotFound:
                    continue
                report.files_freed += 1
                report.bytes_freed += stat.size
                report.freed.append(stat.relative)


def _is_debris(relative: str) -> bool:
    """Leftovers of interrupted writes: staged uploads and temp files of atomic writes."""
    name = relative.rsplit("/", 1)[-1]
    return relative.startswith(f"{STAGING_DIR}/") or (name.startswith(".") and name.endswith(".tmp"))


def _batches(items: list[FileStat], size: int) -> Iterable[list[FileStat]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
