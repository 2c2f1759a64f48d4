"""Checkpoints: the state the logs fold to at a revision, so planning reads a bounded tail.

Every `every` revisions a commit writes `events/artefacts.checkpoint.<rev>.json`: the reusable
producer results (job, signature → outputs) at its artefact cursor, keeping the newest `per_job`
signatures per job so its size depends on the graph, not on how many revisions came before. (Inputs
need none: each manifest holds the folded inputs; older stores may still carry `inputs.checkpoint`
files, which nothing reads.)
Planning first looks for the results the last commit stored for the next process (see
stored_results.py, a derived copy that is pruned); without one it loads the newest checkpoint and
reads only the events after its cursor, and the event logs stop their archive scan at that cursor
(see archives.read_archives). Nothing prunes checkpoints.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping

from movie_assets.errors import InvalidValue, NotFound
from movie_assets.lifecycle.stored_results import ResultsIndex, StoredResults
from movie_assets.pipeline.signature import SucceededIndex
from movie_assets.store.cache import BoundedCache
from movie_assets.store.events import EventLog
from movie_assets.store.models import BlobRef, Manifest, Record, RevisionId, as_revisions
from movie_assets.store.storage import MovieFS

DEFAULT_EVERY = 10
DEFAULT_PER_JOB = 8
_NAME = re.compile(r"^events/(inputs|artefacts)\.checkpoint\.(rev-\d{4,})\.json$")

# Reusable results by (where the backend's bytes live, movie, per-job bound, newest checkpoint, newest
# artefact id). The logs only grow, so the same newest id means the same events: a long-lived process (the
# Dagster sensor, a regenerate planning again) need not read the artefact log again for every plan. Keyed
# by Backend.identity, so a store built again for the same place (the viewer, per request) finds it.
_INDEXES: BoundedCache[dict] = BoundedCache(8)


class IndexEntry(Record, kw_only=True):
    job_id: str
    inputs_hash: str
    outputs: dict[str, BlobRef]


class ArtefactsCheckpoint(Record, kw_only=True):
    movie_id: str
    revision: RevisionId
    artefact_cursor: str | None
    per_job: int
    entries: list[IndexEntry] = []

    def __post_init__(self) -> None:
        as_revisions(self, "revision")


def checkpoint_path(kind: str, revision: RevisionId | str) -> str:
    return f"events/{kind}.checkpoint.{RevisionId(revision)}.json"


class Checkpoints:
    """Write and read one movie's checkpoints."""

    def __init__(self, fs: MovieFS, every: int = DEFAULT_EVERY, per_job: int = DEFAULT_PER_JOB) -> None:
        if every < 1 or per_job < 1:
            raise InvalidValue("checkpoint interval and per-job depth must be at least 1")
        self.fs = fs
        self.movie_id = fs.movie_id
        self.every = every
        self.per_job = per_job
        self.results = ResultsIndex(fs, per_job)

    def due(self, revision: RevisionId) -> bool:
        return revision.number % self.every == 0

    def latest(self, kind: str, at_or_before: RevisionId | None = None) -> RevisionId | None:
        found = []
        for rel in self.fs.list("events"):
            match = _NAME.match(rel)
            if match and match.group(1) == kind:
                revision = RevisionId(match.group(2))
                if at_or_before is None or revision.number <= at_or_before.number:
                    found.append(revision)
        return max(found, key=lambda r: r.number) if found else None

    def write(self, manifest: Manifest, events: EventLog) -> None:
        """Materialise the reusable-results checkpoint for a committed manifest (idempotent: create-only).

        Inputs need no checkpoint: every manifest already holds the folded inputs it was built from."""
        index = self.index(events, upto=manifest.artefact_cursor, at_or_before=manifest.revision)
        artefacts = ArtefactsCheckpoint(
            movie_id=self.movie_id,
            revision=manifest.revision,
            artefact_cursor=manifest.artefact_cursor,
            per_job=self.per_job,
            entries=[
                IndexEntry(job_id=job, inputs_hash=signature, outputs=outputs)
                for (job, signature), outputs in index.items()
            ],
        )
        self.fs.write_if_absent(checkpoint_path("artefacts", manifest.revision), artefacts.canonical())

    def load_artefacts(self, revision: RevisionId) -> ArtefactsCheckpoint:
        rel = checkpoint_path("artefacts", revision)
        return ArtefactsCheckpoint.parse_document(self.fs.read(rel), f"{self.movie_id}/{rel}")

    def index(
        self, events: EventLog, upto: str | None = None, at_or_before: RevisionId | None = None
    ) -> dict[tuple[str, str], dict[str, BlobRef]]:
        """(job, signature) → outputs of succeeded results: newest checkpoint + the events after it,
        bounded to `per_job` newest signatures per job (insertion order = age)."""
        found: dict[tuple[str, str], dict[str, BlobRef]] = {}
        after = None
        latest = self.latest("artefacts", at_or_before)
        if latest is not None:
            try:
                checkpoint = self.load_artefacts(latest)
            except NotFound:
                checkpoint = None
            if checkpoint is not None:
                for entry in checkpoint.entries:
                    found[(entry.job_id, entry.inputs_hash)] = dict(entry.outputs)
                after = checkpoint.artefact_cursor
        return _bounded(_add_logged(found, events, after, upto), self.per_job)

    def succeeded_index(self, events: EventLog, blob_exists: Callable[[str], bool] | None = None) -> SucceededIndex:
        """A SucceededIndex for planning and running: the results the last commit stored (else the newest
        checkpoint's), then the artefact log after them."""
        last_id = events.last_artefact_id()
        index = SucceededIndex(blob_exists=blob_exists, shared=self.results_at(events, last_id))
        index.last_id = last_id  # results added later stay apart from the shared ones
        return index

    def results_at(
        self, events: EventLog, last_id: str | None, names: list[str] | None = None
    ) -> Mapping[tuple[str, str], dict[str, BlobRef]]:
        """(job, signature) → outputs of the results logged up to `last_id`; shared, never change it.
        `names`: the stored indexes, if the caller has listed them."""
        # the results logged up to one id are the same whichever checkpoint or stored index they come from:
        # the key needs no listing of the checkpoints (a round trip on S3)
        key = self._index_key(last_id)
        found = _INDEXES.get(key)
        if found is None:
            found = self._stored(events, last_id, names)
            if found is None:
                found = self.index(events, upto=last_id)  # an event appended meanwhile waits for the next plan
            _INDEXES.put(key, found)
        return found

    def _index_key(self, last_id: str | None) -> tuple:
        """Where this process keeps the results logged up to `last_id` (results_at)."""
        return (self.fs.backend.identity, self.fs.base, self.per_job, last_id)

    def _stored(self, events: EventLog, last_id: str | None, names: list[str] | None) -> StoredResults | None:
        # a commit stores the index at the log's last id, which is then still the last: one GET, no listing
        tried = last_id if names is None else None
        jobs = self.results.load(tried) if tried is not None else None
        if jobs is not None:
            return StoredResults(jobs, {})
        at = self.results.newest(last_id, names)
        held = _INDEXES.get(self._index_key(at)) if at is not None else None
        if isinstance(held, StoredResults):  # read by this process already (say, by the plan of this run)
            jobs, earlier = held.stored, held.later
        else:
            jobs, earlier = self.results.load(at) if at is not None and at != tried else None, {}
        if jobs is None:
            return None
        # results logged since the commit that stored them (say, its own run's); usually none, and no read
        later = _add_logged({k: dict(v) for k, v in earlier.items()}, events, at, last_id) if last_id != at else earlier
        return StoredResults(jobs, later)

    def keep_results(
        self, events: EventLog, defer: Callable[[Callable[[], object]], None] = lambda prune: prune()
    ) -> None:
        """Store the results logged so far for the next process's plans (a commit calls this), and delete
        those stored before (handed to `defer`, which may run it later)."""
        last_id = events.last_artefact_id()
        if last_id is None:
            return
        names = self.results.listed()  # one listing answers what is stored, the newest and what goes
        if names is None or self.results.path(last_id) not in names:
            found = self.results_at(events, last_id, names)
            self.results.save(last_id, _bounded(dict(found.items()), self.per_job))
        defer(lambda: self.results.prune(keep=last_id, names=names))


def _add_logged(
    found: dict[tuple[str, str], dict[str, BlobRef]], events: EventLog, after: str | None, upto: str | None
) -> dict[tuple[str, str], dict[str, BlobRef]]:
    """`found` with the succeeded results logged after `after`, up to `upto`, added (newest last)."""
    for event in events.stream_artefacts(after=after):
        if event.status == "succeeded" and event.artefact_id and event.output:
            key = (event.job_id, event.inputs_hash)
            outputs = found.pop(key, None)
            if outputs is None:
                found[key] = {event.artefact_id: event.output}
            else:
                outputs[event.artefact_id] = event.output
                found[key] = outputs  # re-inserted: newest last
        if event.id == upto:  # events come in id order: the ones after `upto` were appended since
            break
    return found


def _bounded(found: dict[tuple[str, str], dict[str, BlobRef]], per_job: int) -> dict[tuple[str, str], dict]:
    if max(Counter(job for job, _ in found).values(), default=0) <= per_job:  # the usual case
        return found
    count: dict[str, int] = {}
    kept = []
    for key in reversed(list(found)):
        if count.get(key[0], 0) < per_job:
            count[key[0]] = count.get(key[0], 0) + 1
            kept.append(key)
    return {key: found[key] for key in reversed(kept)}
