"""Garbage collection: mark what any revision or unfinished run references, sweep the rest.

Safe against writers running at the same time, at any grace period (0s included):
- a blob listed before the mark and unreferenced by it is still kept when it is younger than the
  oldest plan of a run not yet committed: such a run may have written it and not logged it yet;
- a dedup hit (BlobStore.put of bytes already stored) refreshes the old blob's mtime under GC_LOCK,
  and the sweep re-reads each candidate's mtime under that same lock just before deleting it;
- under the same lock each sweep batch first catches up with revisions committed and results logged
  since the mark, and a commit checks that every blob it names exists under that lock before it
  swaps the pointer (lifecycle.publish), so no published revision ever names a swept blob;
- a user's file being pinned (MovieStore.override) is guarded from before its blob is stored until its
  input edit is logged by a `runs/pinning-*` marker, which keeps every blob at least as young as it, as
  a run's plan does; a marker left by a killed process stops counting after DEBRIS_MIN_AGE;
- pins count after folding the pending edits: a file pinned then unpinned is collectable.
- write debris (staged uploads, temp files of atomic writes) goes only once it is older than
  DEBRIS_MIN_AGE as well, so a writer's in-flight temp file is never taken from under it.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from movie_assets.errors import InvalidValue, NotFound, StorageError
from movie_assets.lifecycle.manifest_index import manifest_blob_hashes
from movie_assets.lifecycle.readable import TEXT_DIR
from movie_assets.pipeline.models import ExecutionPlan, RunProgress
from movie_assets.pipeline.steering import PIN
from movie_assets.store.base import FileStat
from movie_assets.store.blobs import GC_LOCK
from movie_assets.store.events import EventLog, FileEventLog
from movie_assets.store.hashing import is_sha256, sha256_bytes
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import RevisionId
from movie_assets.store.parallel import each, io_threads
from movie_assets.store.paths import STAGING_DIR, is_internal
from movie_assets.store.storage import MovieFS

SWEEP_BATCH = 500
DEBRIS_MIN_AGE = 15 * 60.0  # seconds; no write keeps a temp file open this long
_PLAN_SUFFIX = "-plan.json"
_PROGRESS_SUFFIX = "-progress.json"
PINNING_PREFIX = "runs/pinning-"
_READABLE = ("prompts/", f"{TEXT_DIR}/")


@dataclass
class _Marks:
    """What the mark phase found, kept current by each sweep batch under the GC lock."""

    hashes: set[str]
    cutoff: float  # candidates at least this young are kept
    pointer_hash: str | None
    seen: set[RevisionId]
    artefact_cursor: str | None
    input_cursor: str | None
    pins: dict[str, str | None] = field(default_factory=dict)  # pending pins, folded: artefact -> hash


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


def _plan_blob_hashes(plan: ExecutionPlan) -> set[str]:
    return {ref.hash for record in plan.carried.values() for ref in record.outputs.values()}


def _progress_blob_hashes(progress: RunProgress) -> set[str]:
    return {ref.hash for result in progress.results.values() if result.record for ref in result.record.outputs.values()}


@contextlib.contextmanager
def pinning(fs: MovieFS, artefact_id: str) -> Iterator[None]:
    """Guard a pin in the making: from before its blob is stored until its edit is logged, no GC sweeps a
    blob at least as young as this marker (see the module docstring)."""
    marker = f"{PINNING_PREFIX}{uuid.uuid4().hex}.json"
    fs.write_atomic(marker, json.dumps({"artefact": artefact_id}).encode())
    try:
        yield
    finally:
        with contextlib.suppress(StorageError):
            fs.delete(marker)


class GarbageCollector:
    """Mark-and-sweep over one movie's blobs, prompt and text files, and staging debris."""

    def __init__(self, fs: MovieFS, events: EventLog | None = None, clock=time.time) -> None:
        self.fs = fs
        self.movie_id = fs.movie_id
        self.events = events or FileEventLog(fs)
        self.manifests = ManifestService(fs)
        self.clock = clock
        self._manifest_stats: dict[str, FileStat] | None = None
        self._listed: dict[str, FileStat] | None = None  # the last listing's sizes and times, if it had them

    def mark(self, cutoff: float) -> set[str]:
        """Blob hashes referenced by any manifest, any run not yet committed or younger than the cutoff,
        and any producer result logged after the live revision (a failed run's results, kept for reuse)."""
        return self._mark(cutoff).hashes

    def _mark(self, cutoff: float) -> _Marks:
        self._manifest_stats = None  # listed once per mark, on first use
        pointer = self.manifests.load_pointer()
        current = self.manifests.load_current().manifest
        marks = _Marks(
            set(), cutoff, pointer.hash if pointer else None, set(), current.artefact_cursor, current.input_cursor
        )
        for revision in self.manifests.history():
            marks.hashes |= self._manifest_hashes(revision, marks.hashes)
            marks.seen.add(revision)
        fresh = self.clock() - DEBRIS_MIN_AGE
        for stat in self.fs.scan("runs"):
            name = stat.relative.rsplit("/", 1)[-1]
            if stat.relative.startswith(PINNING_PREFIX) and stat.mtime > fresh:  # a pin in the making
                marks.cutoff = min(marks.cutoff, stat.mtime)
            if not name.endswith((_PLAN_SUFFIX, _PROGRESS_SUFFIX)):
                continue
            revision = RevisionId(name.split("-plan")[0].split("-progress")[0])
            uncommitted = revision.number > current.revision.number
            if not uncommitted and stat.mtime < cutoff:
                continue  # a committed (or superseded) run older than the grace period
            if uncommitted:  # its run may have written blobs it has not logged yet
                marks.cutoff = min(marks.cutoff, stat.mtime)
            raw = self.fs.read(stat.relative)
            where = f"{self.movie_id}/{stat.relative}"
            if name.endswith(_PLAN_SUFFIX):
                marks.hashes |= _plan_blob_hashes(ExecutionPlan.parse_document(raw, where))
            else:
                marks.hashes |= _progress_blob_hashes(RunProgress.parse_document(raw, where))
        self._logged_since(marks)
        return marks

    def _logged_since(self, marks: _Marks) -> None:
        for event in self.events.stream_artefacts(after=marks.artefact_cursor):
            if event.output:
                marks.hashes.add(event.output.hash)
            marks.artefact_cursor = event.id
        # a user's file pinned as an artefact is referenced by its input edit until a revision names it,
        # unless a later edit unpinned or replaced it
        for edit in self.events.stream_inputs(after=marks.input_cursor):
            if edit.key.startswith(PIN):
                value = edit.value
                marks.pins[edit.key] = (
                    value["hash"] if isinstance(value, dict) and is_sha256(value.get("hash")) else None
                )
            marks.input_cursor = edit.id
        marks.hashes.update(h for h in marks.pins.values() if h is not None)

    def _catch_up(self, marks: _Marks) -> None:
        """Mark what was committed or logged since the mark phase (called under the GC lock)."""
        pointer = self.manifests.load_pointer()
        if pointer is not None and pointer.hash != marks.pointer_hash:
            self._manifest_stats = None  # new manifests since the mark: list them again
            for revision in self.manifests.history():
                if revision not in marks.seen:
                    marks.hashes |= self._manifest_hashes(revision, marks.hashes)
                    marks.seen.add(revision)
            marks.pointer_hash = pointer.hash
        self._logged_since(marks)

    def _manifest_hashes(self, revision: RevisionId, known: set[str] | frozenset[str] = frozenset()) -> set[str]:
        """Blob hashes of one stored manifest, through its index (decoding every manifest dominated GC
        time); anything unexpected aborts the collection rather than under-marking."""
        if self._manifest_stats is None:
            self._manifest_stats = {s.relative: s for s in self.fs.scan("manifests")}
        stat = self._manifest_stats.get(f"manifests/{revision}.json")
        # hashes already checked in an earlier manifest (most of them, revision to revision)
        return manifest_blob_hashes(self.fs, str(revision), stat) - known

    def collect(self, grace_seconds: float = 3600.0, dry_run: bool = False) -> GcReport:
        """Sweep unreferenced files older than `grace_seconds`; `dry_run` only reports what would go."""
        if grace_seconds < 0:
            raise InvalidValue("the grace period cannot be negative")
        report = GcReport(self.movie_id, dry_run)
        now = self.clock()
        # list candidates before marking: a blob written after this listing is not a candidate at all.
        blobs, readable, debris = self._listing()
        marks = self._mark(now - grace_seconds)
        report.marked_blobs = len(marks.hashes)
        unmarked = [(rel, name) for rel in blobs if (name := rel[-64:]) not in marks.hashes]
        # readable copies are marked by their content hash, like the blob they copy (read several at once)
        hashes = each(self._prompt_hash, readable, io_threads(self.fs))
        unmarked += [(rel, h) for rel, h in zip(readable, hashes, strict=True) if h not in marks.hashes]
        # sizes and times of the unmarked only, read after the mark: a later time can only keep more
        stats = self._stats([rel for rel, _ in unmarked])
        candidates = [(stat, h) for stat, (_, h) in zip(stats, unmarked, strict=True) if stat is not None]
        debris_cutoff = min(marks.cutoff, now - DEBRIS_MIN_AGE)
        old_debris = [(stat, None) for stat in self._stats(debris) if stat is not None and stat.mtime < debris_cutoff]
        report.candidates = len(candidates) + len(debris)
        old = [(stat, h) for stat, h in candidates if stat.mtime < marks.cutoff]
        report.kept_young = report.candidates - len(old) - len(old_debris)
        for batch in _batches(old, SWEEP_BATCH):
            self._sweep(batch, marks, marks.cutoff, report)
        for batch in _batches(old_debris, SWEEP_BATCH):
            self._sweep(batch, marks, debris_cutoff, report)
        return report

    def _listing(self) -> tuple[list[str], list[str], list[str]]:
        """Blob files, readable copies and write debris, from one listing of the whole movie. Sizes and
        times come with an object store's listing and are kept; a disk's listing has names only, and a
        stat of each of 200k blobs was three quarters of a dry run, so only the unmarked are stat'd."""
        self._listed = None
        if self.fs.backend.listing_has_metadata:
            self._listed = {stat.relative: stat for stat in self.fs.scan("", hidden=True, ordered=False)}
            paths: Iterable[str] = self._listed
        else:
            paths = self.fs.list("", ordered=False, hidden=True)
        blobs, readable, debris = [], [], []
        is_blob = _BLOB_FILE.fullmatch
        for rel in paths:  # one pass over every file: keep it lean
            if rel.startswith("blobs/"):
                if is_blob(rel):  # else not ours to delete
                    blobs.append(rel)
                elif _is_debris(rel):
                    debris.append(rel)
            elif _is_debris(rel):
                debris.append(rel)
            elif is_internal(rel):
                continue
            elif rel.startswith(_READABLE):
                readable.append(rel)
        return blobs, readable, debris

    def _stats(self, relatives: list[str]) -> list[FileStat | None]:
        """Size and time of listed files (None for one gone since): from the listing when it had them."""
        if self._listed is not None:
            return [self._listed.get(rel) for rel in relatives]
        return self.fs.stats(relatives) if relatives else []

    def _prompt_hash(self, relative: str) -> str | None:
        try:
            return sha256_bytes(self.fs.read(relative))
        except NotFound:
            return None

    def _sweep(self, batch: list[tuple[FileStat, str | None]], marks: _Marks, cutoff: float, report: GcReport) -> None:
        with self.fs.lock(GC_LOCK):
            if not report.dry_run:
                self._catch_up(marks)
            unmarked = [stat for stat, found in batch if found is None or found not in marks.hashes]
            report.kept_young += len(batch) - len(unmarked)  # committed or logged since the mark
            if report.dry_run:
                outcomes: list[bool | None] = [True] * len(unmarked)
            else:  # each file's time is read again under the lock: a dedup hit may have refreshed it
                outcomes = self.fs.delete_unless_newer([stat.relative for stat in unmarked], cutoff)
            for stat, deleted in zip(unmarked, outcomes, strict=True):
                if deleted is False:
                    report.kept_young += 1  # re-referenced (freshened) since we listed it
                elif deleted:
                    report.files_freed += 1
                    report.bytes_freed += stat.size
                    report.freed.append(stat.relative)


# a blob's one valid place, its folder named by its first two hex digits: one regex per listed file
_BLOB_FILE = re.compile(r"blobs/([0-9a-f]{2})/\1[0-9a-f]{62}")


def _is_debris(relative: str) -> bool:
    """Leftovers of interrupted writes: staged uploads and temp files of atomic writes."""
    name = relative.rsplit("/", 1)[-1]
    return relative.startswith(f"{STAGING_DIR}/") or (name.startswith(".") and name.endswith(".tmp"))


def _batches(items: list[FileStat], size: int) -> Iterable[list[FileStat]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
