"""After-commit housekeeping: what a published revision gets once it is live, whichever path published it.

Metrics, log rotation, the final cut under `exports/`, readable copies, stored graphs and indexes, a
checkpoint when due. None of it changes what is published, and every step is idempotent, so a commit
killed (or out of disk) after its pointer swap is finished later by running the same steps again: the
next writing command (`regenerate` with nothing to do, `verify --repair`) does so when the live
revision has no `metrics/<rev>.done` marker, the marker the last step writes once every step held.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol

from movie_assets.errors import MovieAssetsError, NotFound, StorageError, UnknownMovie
from movie_assets.lifecycle.exports import export_path, write_final_cut
from movie_assets.lifecycle.history import VerifyReport, verify
from movie_assets.lifecycle.metrics import metrics_path, record_metrics
from movie_assets.lifecycle.readable import COPY_FOLDERS, edited_copies, refresh_readable, scan_copies
from movie_assets.lifecycle.repair import RepairReport, repair
from movie_assets.pipeline.incremental import unmatched_jobs
from movie_assets.pipeline.steering import PIN
from movie_assets.store.models import Manifest
from movie_assets.store.parallel import at_once, each, io_threads, later, threads_for


class MovieStore(Protocol):
    """What housekeeping reads of a movie's facade (movie.MovieStore, a layer above this one)."""

    movie_id: str
    fs: Any
    events: Any
    blobs: Any
    manifests: Any
    checkpoints: Any
    graphs: Any

    def exists(self) -> bool: ...

    def effective_inputs(self) -> dict[str, Any]: ...

    def finish_housekeeping(self) -> bool: ...

    def current(self) -> tuple[Manifest, str | None]: ...

    def manifest_graph(self, manifest: Manifest) -> Any: ...


log = logging.getLogger(__name__)


FINAL_CUT_STEP = "writing the final cut"


def final_cut_written(manifest: Manifest, failed: list[str]) -> str | None:
    """Where the revision's final cut is (relative to the movie), once a housekeeping that ended with
    `failed` steps wrote it; None when it has none or its step failed."""
    rel = export_path(manifest)
    return rel if rel is not None and FINAL_CUT_STEP not in failed else None


def done_marker(revision: str) -> str:
    return f"metrics/{revision}.done"


def housekeep(store: MovieStore, manifest: Manifest, run_revision: str | None, manifest_hash: str | None) -> list[str]:
    """Run every step for the live `manifest`; the steps that failed (each logged), empty when all held."""
    failed: list[str] = []

    def step(name: str, action) -> None:
        try:
            action()
        except Exception as exc:  # housekeeping never undoes a publish: a failure is finished later
            log.warning("%s: %s for %s failed: %s", store.movie_id, name, manifest.revision, exc)
            failed.append(name)

    previous: Manifest | None = None
    if manifest.parent is not None and manifest.parent_hash is not None:
        with contextlib.suppress(StorageError, ValueError):  # by hash: the one the plan read is not read again
            previous = store.manifests.load(manifest.parent, expected_hash=manifest.parent_hash)
    previous_cursor = previous.artefact_cursor if previous else None
    # the metrics, the rotation and the results index each read the logs as they were at the commit
    sharing = getattr(store.events, "sharing_reads", None)
    events = sharing() if sharing is not None else store.events
    prunes: list[Callable[[], object]] = []  # derived files no revision reads: deleted beside the marker

    def metrics() -> None:
        step("metrics", lambda: record_metrics(store.fs, manifest, previous_cursor, events, run_revision))

    def event_logs() -> None:
        step(
            "archiving the event logs",
            lambda: events.archive(manifest.revision, manifest.input_cursor, manifest.artefact_cursor),
        )
        if store.checkpoints.due(manifest.revision):
            step("checkpoint", lambda: store.checkpoints.write(manifest, store.events))

    # The metrics and the results index read the artefact log while it may be rotated: safe, as a file
    # log is read once for all three, before the rotation strips it, and a Redis reader reads the live
    # stream before the trim marker, which a rotation moves only once the archive is written.
    chains = [
        metrics,
        event_logs,
        lambda: step("storing the results index", lambda: store.checkpoints.keep_results(events, prunes.append)),
        lambda: step(FINAL_CUT_STEP, lambda: write_final_cut(store.fs, store.blobs, manifest)),
        lambda: step(
            "refreshing readable copies",
            lambda: _graphs_and_copies(store, manifest, manifest_hash, previous, prunes.append),
        ),
    ]
    # on S3 every step is a chain of round trips: the chains overlap
    at_once(chains, min(len(chains), io_threads(store.fs)))
    if prunes:  # caches of nothing live: a prune that fails or is cut short costs only space
        later(lambda: at_once(prunes, threads_for(store.fs, len(prunes))))
    if not failed:
        step("marking housekeeping done", lambda: store.fs.write_atomic(done_marker(manifest.revision), b"ok\n"))
    return failed


def write_revision_outputs(store: MovieStore) -> None:
    """The files every published revision has, written where absent: its metrics and its final cut. A
    revision whose export cannot be written (say, only it names a blob that is gone) is logged and passed."""
    for revision in store.manifests.published():
        try:
            manifest = store.manifests.load(revision)
            if not store.fs.exists(metrics_path(manifest.revision)):
                record_metrics(store.fs, manifest, None, store.events)
            if store.final_cut(manifest) is None:
                write_final_cut(store.fs, store.blobs, manifest)
        except MovieAssetsError as exc:
            log.warning("%s: the metrics or export of %s cannot be written: %s", store.movie_id, revision, exc)


def verify_movie(store: MovieStore) -> VerifyReport:
    """lifecycle.history.verify, then what only the whole movie tells: every pending pin names a stored
    blob, and every published revision has its metrics and export."""
    parsed: dict[str, Manifest] = {}

    def read_ahead() -> None:  # what the checks below read, read while the blobs are: the snapshot keeps it
        with contextlib.suppress(MovieAssetsError):  # (a lost pointer is the report's to tell)
            store.current()
            store.blueprint()  # UnknownMovie for a migrated movie, which has no inputs to fold
            store.effective_inputs()

    report = verify(store.fs, store.events, parsed, beside=read_ahead)
    if not report.ok:
        return report
    if store.exists():
        for key, value in store.effective_inputs().items():
            if key.startswith(PIN) and isinstance(value, dict) and not store.blobs.has(str(value.get("hash"))):
                report.problems.append(f"pending {key} names blob {value.get('hash')}, which is not stored")
    live, digest = store.current()
    chain, revision = [], live.revision if digest else None
    while revision is not None and str(revision) in parsed:  # the live chain, from the manifests read
        chain.insert(0, parsed[str(revision)])
        revision = chain[0].parent
    wanted = [(manifest.revision, rel) for manifest in chain for rel in expected_outputs(manifest)]
    absent = each(lambda pair: _absent(store, pair[1]), wanted, io_threads(store.fs))  # on S3 a HEAD each, at once
    for (revision, rel), gone in zip(wanted, absent, strict=True):
        if gone:
            report.problems.append(f"{revision} is published but has no {rel} (run `verify --repair`)")
    for path, artefact in edited_readable_copies(store):
        report.problems.append(f"{path} no longer matches {artefact} (`movie-assets adopt` makes the edit an override)")
    return report


def edited_readable_copies(store: MovieStore) -> list[tuple[str, str]]:
    """(path, artefact id) of the live revision's readable copies edited since they were written."""
    manifest, digest = store.current()
    if digest is None or not store.exists():
        return []

    def marked() -> float | None:
        try:
            return store.fs.modified_time(done_marker(manifest.revision))
        except NotFound:
            return None  # housekeeping unfinished: every copy is read

    # on S3 round trips (the done marker, the input log, each folder's listing) that need nothing of each other
    reads = [marked, store.effective_inputs, *(functools.partial(scan_copies, store.fs, f) for f in COPY_FOLDERS)]
    since, inputs, *scans = at_once(reads, threads_for(store.fs, len(reads)))
    stats = {stat.relative: stat for scan in scans for stat in scan}
    pins = {k[len(PIN) :]: v.get("hash") for k, v in inputs.items() if k.startswith(PIN)}
    return edited_copies(store.fs, store.manifest_graph(manifest), manifest, since, pins, stats)


def repair_movie(store: MovieStore) -> RepairReport:
    """lifecycle.repair.repair, then the housekeeping a crash or a full disk left undone."""
    report = repair(store.fs, store.events)
    store.finish_housekeeping()
    write_revision_outputs(store)
    return report


def _graphs_and_copies(
    store: MovieStore,
    manifest: Manifest,
    manifest_hash: str | None,
    previous: Manifest | None = None,
    defer: Callable[[Callable[[], object]], None] = lambda prune: prune(),
) -> None:
    def parent_done() -> float | None:  # the parent's copies were refreshed before its marker was written
        if previous is None:
            return None
        with contextlib.suppress(NotFound):
            return store.fs.modified_time(done_marker(previous.revision))
        return None

    try:  # the graph and when the parent's copies were refreshed: on S3 two round trips, at once
        graph, since = at_once([lambda: store.manifest_graph(manifest), parent_done], threads_for(store.fs, 2))
    except UnknownMovie:  # a migrated movie has no blueprint: no graph, no readable copies
        return

    def stored_graphs() -> None:  # the next plan in a fresh process reads these instead of computing them
        if graph.shape is not None:
            store.graphs.save(graph)
            if manifest_hash is not None:
                store.graphs.save_unmatched(manifest_hash, graph.shape, unmatched_jobs(graph, manifest))
            defer(lambda: store.graphs.prune(keep=graph.shape, keep_manifest=manifest_hash))

    def copies() -> None:
        kept = None
        if since is not None and previous is not None:
            kept = {artefact_id: entry.blob.hash for artefact_id, entry in previous.artefacts.items()}
        refresh_readable(store.fs, graph, manifest, kept, since)

    at_once([stored_graphs, copies], threads_for(store.fs, 2))


def unfinished(store: MovieStore) -> bool:
    """Whether the live revision's housekeeping was interrupted (no done marker)."""
    manifest, digest = store.current()  # within a snapshot, the read the plan then uses
    return digest is not None and not store.fs.exists(done_marker(manifest.revision))


def expected_outputs(manifest: Manifest) -> list[str]:
    """The files a published revision has: its metrics and, if it has a final cut, its export."""
    final = export_path(manifest)
    return [metrics_path(manifest.revision), *([final] if final is not None else [])]


def _absent(store: MovieStore, rel: str) -> bool:
    try:
        return not store.fs.exists(rel)
    except (NotFound, StorageError):
        return True
