"""MovieStore: one movie's store and its regeneration loop (init, edit, plan, run, commit)."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from movie_assets.errors import InvalidValue, MovieExists, NotFound, UnknownMovie
from movie_assets.lifecycle.checkpoints import Checkpoints
from movie_assets.lifecycle.exports import export_path
from movie_assets.lifecycle.gc import GarbageCollector, pinning
from movie_assets.lifecycle.history import diff as diff_revisions
from movie_assets.lifecycle.history import history as revision_history
from movie_assets.lifecycle.history import rollback as roll_back
from movie_assets.lifecycle.housekeeping import (
    final_cut_written,
    housekeep,
    repair_movie,
    verify_movie,
    write_revision_outputs,
)
from movie_assets.lifecycle.housekeeping import unfinished as housekeeping_unfinished
from movie_assets.lifecycle.publish import publish, run_base, run_manifest
from movie_assets.lifecycle.regenerate import Planned, regenerate
from movie_assets.pipeline.blueprint import expand_graph
from movie_assets.pipeline.blueprint.graph import ProducerGraph
from movie_assets.pipeline.blueprint.inputs import check_loop_indices, loop_counts, normalise_edits, resolve_inputs
from movie_assets.pipeline.blueprint.load import parsed_blueprint, stored_blueprint
from movie_assets.pipeline.blueprint.schema import Blueprint
from movie_assets.pipeline.graph_index import DiskGraphIndex
from movie_assets.pipeline.incremental import baseline_held
from movie_assets.pipeline.models import ExecutionPlan, JobDescriptor, JobResult, RegenerateOutcome, RunResult
from movie_assets.pipeline.planner import Planner, effective_inputs
from movie_assets.pipeline.plans import PlanStore
from movie_assets.pipeline.signature import SucceededIndex
from movie_assets.pipeline.steering import checked_replacement, pin_key, refuse_reserved, replaceable_output, take_key
from movie_assets.store.blobs import BlobStore
from movie_assets.store.events import INPUTS_LOG, EventLog, FileEventLog
from movie_assets.store.fold import read_ahead
from movie_assets.store.hashing import json_hash
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import InputEntry, InputEvent, Manifest, ManifestPointer
from movie_assets.store.parallel import at_once, overlapped, threads_for
from movie_assets.store.paths import validate_artefact_id
from movie_assets.store.storage import StorageContext

if TYPE_CHECKING:  # the runner and the migrator load when used: `status` and `plan` never do
    from pathlib import Path

    from movie_assets.lifecycle.gc import GcReport
    from movie_assets.lifecycle.history import ManifestDiff, RevisionSummary, VerifyReport
    from movie_assets.lifecycle.migrate import MigrationReport
    from movie_assets.lifecycle.repair import RepairReport
    from movie_assets.pipeline.produce import ProduceFn

BLUEPRINT_FILE = "blueprint.yaml"
RUN_LEASE = "runs/run"

log = logging.getLogger(__name__)


class MovieStore:
    """One movie's facade over the store, pipeline and lifecycle services: the calls every face makes."""

    def __init__(self, storage: StorageContext, movie_id: str, event_log: EventLog | None = None) -> None:
        self.storage = storage
        self.fs = fs = storage.movie(movie_id)
        self.movie_id = fs.movie_id
        self.events: EventLog = event_log or FileEventLog(fs)
        self.blobs = BlobStore(fs)
        self.manifests = ManifestService(fs)
        self.plans = PlanStore(fs)
        self.checkpoints = Checkpoints(fs)
        self.graphs = DiskGraphIndex(fs)
        self._memo: dict[str, Any] | None = None  # see snapshot()

    def require(self) -> MovieStore:
        """This store, if the movie exists (made by init, or migrated: manifests without a blueprint);
        UnknownMovie otherwise. Every face checks a movie id through here."""
        if not self.exists() and not self.fs.exists("current.json"):
            raise UnknownMovie(f"no movie {self.movie_id!r} under {self.storage.root}")
        return self

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[MovieStore]:
        """Within: the live pointer and the blueprint are read once, for a read-only command that asks for
        them from several places (on S3 each read is a round trip), as are the effective inputs. Writes
        through this store end it; a snapshot within a snapshot is the outer one."""
        if self._memo is not None:
            yield self
            return
        self._memo = {}
        try:
            yield self
        finally:
            self._memo = None

    def _logged(self, values: dict[str, Any], edited_by: str) -> list[InputEvent]:
        self._forget()  # inputs written end what a snapshot read
        return self.events.append_inputs(values, edited_by)

    def _forget(self) -> None:
        if self._memo is not None:
            self._memo.clear()

    def exists(self) -> bool:
        if self._memo is not None and ("blueprint" in self._memo or "exists" in self._memo):
            return True
        found = self.fs.exists(BLUEPRINT_FILE)
        if found and self._memo is not None:
            self._memo["exists"] = True
        return found

    def init(self, blueprint: Blueprint, inputs: Mapping[str, Any], edited_by: str = "init") -> list[InputEvent]:
        """Create the movie: store its blueprint (create-only) and log its initial inputs."""
        refuse_reserved(inputs)
        values = normalise_edits(blueprint, inputs)
        resolved = resolve_inputs(blueprint, values)  # missing required inputs fail before anything is written
        check_loop_indices(blueprint, values, loop_counts(blueprint, resolved))
        if not self.fs.write_if_absent(BLUEPRINT_FILE, blueprint.to_yaml().encode("utf-8")):
            raise MovieExists(f"movie {self.movie_id!r} already exists")
        self._forget()
        start = getattr(self.events, "start_inputs", self.events.append_inputs)  # a new log is not read first
        return start(dict(values), edited_by)

    def blueprint(self) -> Blueprint:
        """The movie's stored blueprint, parsed once per process per content (a sensor reads it every tick)."""
        memo = self._memo if self._memo is not None else {}
        try:
            raw = memo["blueprint"] = memo.get("blueprint") or self.fs.read(BLUEPRINT_FILE)
        except NotFound:
            raise UnknownMovie(f"no movie {self.movie_id!r} under {self.storage.root}") from None
        return stored_blueprint(raw, f"{self.movie_id}/{BLUEPRINT_FILE}")

    def set_blueprint(self, blueprint: Blueprint) -> None:
        """Replace the blueprint (e.g. a producer version bump); the next plan reruns what it changes."""
        self.blueprint()
        self._forget()
        self.fs.write_atomic(BLUEPRINT_FILE, blueprint.to_yaml().encode("utf-8"))

    def edit(self, edits: Mapping[str, Any], edited_by: str = "user") -> list[InputEvent]:
        """Validate edits against the blueprint, then append one InputEvent per (expanded) key. Pins and
        takes are not edits: `override`, `unpin` and `reroll` write them, after their own checks."""
        refuse_reserved(edits)
        blueprint = self.blueprint()
        values = normalise_edits(blueprint, edits)
        manifest, _ = self.current()
        raw, _ = effective_inputs(blueprint, manifest, self.events, values)  # counts as they will be
        check_loop_indices(blueprint, values, loop_counts(blueprint, resolve_inputs(blueprint, raw)))
        return self._logged(dict(values), edited_by)

    # ---- steering: your own takes ----------------------------------------------------------------
    def override(self, artefact_id: str, data: bytes | BinaryIO, edited_by: str = "user") -> InputEvent:
        """Pin a file of yours as an artefact: stored as a blob, logged as an input edit; on regenerate
        the producer of that artefact does not run and everything reading it does."""
        output = replaceable_output(self.graph()[0], validate_artefact_id(artefact_id), self.movie_id)
        data = checked_replacement(artefact_id, output.mime_type, data)
        with pinning(self.fs, artefact_id):  # GC keeps the blob from before it is stored until the edit names it
            ref = self.blobs.put(data, output.mime_type)
            return self._logged({pin_key(artefact_id): ref.to_builtins()}, edited_by)[0]

    def unpin(self, artefact_id: str, edited_by: str = "user") -> InputEvent:
        """Give a pinned artefact back to its producer (its earlier result is reused when it still fits)."""
        raw = self.effective_inputs()
        if raw.get(pin_key(artefact_id)) is None:
            raise InvalidValue(f"{artefact_id!r} is not pinned in {self.movie_id}")
        return self._logged({pin_key(artefact_id): None}, edited_by)[0]

    def reroll(self, job_id: str, edited_by: str = "user", take: int | None = None) -> InputEvent:
        """Ask a job for another take (or, with `take`, for that take: 0 is its first); earlier takes stay in
        history and come back when asked for again."""
        graph, _ = self.graph()
        if job_id not in graph.nodes:
            raise InvalidValue(f"{self.movie_id} has no job {job_id!r}; see `movie-assets plan {self.movie_id}`")
        if take is None:
            take = int(self.effective_inputs().get(take_key(job_id)) or 0) + 1
        elif isinstance(take, bool) or not isinstance(take, int) or take < 0:
            raise InvalidValue(f"{job_id}: a take is a whole number from 0")
        return self._logged({take_key(job_id): take or None}, edited_by)[0]

    def delete(self) -> None:
        """Remove the movie and all its history from the store; UnknownMovie if there is none, and
        RunInProgress (nothing removed) while a regenerate of it runs."""
        with self.require().fs.lease(RUN_LEASE, wait=False):
            self.fs.remove_all()

    def effective_inputs(self) -> dict[str, Any]:
        """The inputs (with pins and takes) as the next plan will see them."""
        if self._memo is not None and "inputs" in self._memo:
            return dict(self._memo["inputs"])
        manifest, _ = self.current()
        raw, _ = effective_inputs(self.blueprint(), manifest, self.events)
        if self._memo is not None:
            self._memo["inputs"] = dict(raw)
        return raw

    def current(self) -> tuple[Manifest, str | None]:
        if self._memo is not None and "current" in self._memo:
            return self._memo["current"]
        current = self.manifests.load_current()
        if self._memo is not None:
            self._memo["current"] = (current.manifest, current.hash)
        return current.manifest, current.hash

    def final_cut(self, manifest: Manifest) -> str | None:
        """The revision's final cut under exports/ (relative to the movie), if it was written."""
        rel = export_path(manifest)
        return rel if rel is not None and self.fs.exists(rel) else None

    def fingerprint(self) -> str:
        """A cheap token that changes whenever the movie does (a commit or a new input event)."""
        return f"{self.manifests.current_hash() or '-'}:{self.events.last_input_id() or '-'}"

    def graph(self) -> tuple[ProducerGraph, dict[str, InputEntry]]:
        """The producer graph for the effective inputs (live manifest + input log tail) and their entries."""
        manifest, _ = self.current()
        blueprint = self.blueprint()
        raw, _ = effective_inputs(blueprint, manifest, self.events)
        graph = expand_graph(blueprint, raw, self.graphs)
        return graph, {k: InputEntry(value=v, hash=json_hash(v)) for k, v in graph.inputs.items()}

    def manifest_graph(self, manifest: Manifest) -> ProducerGraph:
        """The producer graph of a stored revision's inputs (by its own blueprint, if this process read it)."""
        blueprint = parsed_blueprint(manifest.blueprint.hash) if manifest.blueprint else None
        values = {k: e.value for k, e in manifest.inputs.items()}
        return expand_graph(blueprint or self.blueprint(), values, self.graphs)

    def plan(self, pending_edits: Mapping[str, Any] | None = None, save: bool = False) -> ExecutionPlan:
        """Plan the next revision against the live manifest; `save` writes runs/<rev>-plan.json."""
        # a large plan makes 100k objects and no cycle: collections free nothing (benchmarks/README.md)
        collecting = gc.isenabled()
        gc.disable()
        try:
            plan = self.planned(pending_edits).plan
        finally:
            if collecting:
                gc.enable()
        if save:
            self.plans.save(plan)
        return plan

    def planned(self, pending_edits: Mapping[str, Any] | None = None, finishing: bool = False) -> Planned:
        """The plan with what it was made from: the live manifest and the reusable results, which a run
        of it right after takes over instead of reading them again. `finishing`: the live revision's
        housekeeping is finished first if it was interrupted (asked beside the plan's reads, which are
        made again after it when it ran)."""
        reads = [self.current, self.blobs.present, self.blueprint]  # present: one listing, no stat per blob
        if isinstance(self.events, FileEventLog):  # and the input log's tail, which its fold reads first
            reads.append(lambda: read_ahead(self.fs, INPUTS_LOG))
        # on S3 each is a round trip needing nothing of the others; so are the two logs' reads next
        (manifest, digest), present, blueprint, *ahead = at_once(reads, threads_for(self.fs, len(reads)))

        def with_graph() -> tuple[dict[str, Any], str | None]:  # the inputs; their graph read beside the results index
            found = effective_inputs(blueprint, manifest, self.events, pending_edits, digest, *ahead)
            expand_graph(blueprint, found[0], self.graphs, normalised=True)  # the planner takes it from memory
            return found

        logs = [
            lambda: self.succeeded_index(present.__contains__),
            with_graph,
            lambda: finishing and housekeeping_unfinished(self),
        ]
        if digest is not None and not baseline_held(digest):  # and the baseline a fresh process reads
            logs.append(lambda: self.graphs.read_ahead(digest))
        results, inputs, interrupted, *_ = at_once(logs, threads_for(self.fs, len(logs)))
        if interrupted:
            self.finish_housekeeping(interrupted=True)
            return self.planned(pending_edits)
        if self._memo is not None and not pending_edits:
            self._memo["inputs"] = dict(inputs[0])  # for what the command asks next (say, edited copies)
        plan = Planner().compute_plan(
            self.movie_id,
            manifest,
            digest,
            self.events,
            blueprint,
            succeeded=results,
            blob_exists=present.__contains__,
            graph_index=self.graphs,
            inputs=inputs,
        )
        return Planned(plan, manifest, results)

    def succeeded_index(self, blob_exists: Callable[[str], bool] | None = None) -> SucceededIndex:
        """Reusable producer results: those the last commit stored (else the newest checkpoint's) plus the
        artefact log after them."""
        return self.checkpoints.succeeded_index(self.events, blob_exists or self.blobs.has)

    def run(
        self,
        plan: ExecutionPlan,
        produce: ProduceFn,
        concurrency: int = 2,
        on_result: Callable[[JobResult], None] | None = None,
        only: Callable[[JobDescriptor], bool] | None = None,
        planned: Planned | None = None,
        saving: ExecutionPlan | None = None,
    ) -> RunResult:
        """Run the plan's jobs (those `only` selects, if given) through the runner, the one job-execution path.
        `planned`: what `planned()` returned for this plan just now (its base and results are not read again;
        a base that moved meanwhile still fails the commit). `saving`: a plan stored before any job runs."""
        from movie_assets.pipeline.runner import Runner

        index = planned.index.with_blob_check(self.blobs.has) if planned else self.succeeded_index()
        runner = Runner(self.fs, self.events, produce, concurrency, on_result=on_result, index=index)
        return runner.execute(plan, only, base=planned.base if planned else None, saving=saving)

    def commit(self, run: RunResult) -> ManifestPointer:
        """Publish the run's revision (ManifestConflict if the live manifest moved), then archive the logs;
        an archive that fails leaves the lines live for the next commit, so nothing is lost either way."""
        return self.published(run)[0]

    def published(self, run: RunResult) -> tuple[ManifestPointer, Manifest, str | None]:
        """`commit`, answering with the published manifest and its final cut under the movie, when the
        housekeeping wrote one."""
        base = run_base(self.manifests, run.plan)
        manifest = run_manifest(self.blobs, run, base)
        with overlapped():  # the GC lock's release goes out beside the housekeeping's first requests
            # every blob the revision names is checked under the GC lock; the base's are marked by any sweep
            pointer = publish(self.manifests, self.blobs, manifest, run.plan.manifest_base_hash, base.blob_hashes())
            self._forget()
            if pointer.revision != manifest.revision:  # published under the next free number
                manifest = manifest.replace(revision=pointer.revision)
            failed = self.after_commit(manifest, run.plan.revision, pointer.hash)
        return pointer, manifest, final_cut_written(manifest, failed)

    def after_commit(
        self, manifest: Manifest, run_revision: str | None = None, manifest_hash: str | None = None
    ) -> list[str]:
        """Housekeeping once a revision is live (lifecycle/housekeeping.py); the steps that failed. None of
        it affects what is published: a failed step is finished by `finish_housekeeping` later."""
        return housekeep(self, manifest, run_revision, manifest_hash)

    def finish_housekeeping(self, interrupted: bool = False) -> bool:
        """Finish the live revision's housekeeping if a crash or a full disk interrupted it (`interrupted`:
        the caller found so already); whether it ran."""
        if not interrupted and not housekeeping_unfinished(self):
            return False
        current = self.manifests.load_current()
        log.info("%s: finishing the housekeeping of %s", self.movie_id, current.manifest.revision)
        self.after_commit(current.manifest, None, current.hash)
        return True

    # ---- keeping a movie: every face calls these --------------------------------------------------
    def rollback(self, revision: str) -> ManifestPointer:
        """Publish a new revision with the content of `revision` (history is never rewritten), with its
        export, metrics and readable copies as after any commit."""
        self._forget()
        pointer = roll_back(self.fs, revision)
        self.after_commit(self.manifests.load(pointer.revision), None, pointer.hash)
        return pointer

    def history(self) -> list[RevisionSummary]:
        """Every stored revision, oldest first, with the live one flagged."""
        return revision_history(self.fs)

    def diff(self, rev_a: str, rev_b: str) -> ManifestDiff:
        """Artefacts and inputs changed from `rev_a` to `rev_b`."""
        return diff_revisions(self.fs, rev_a, rev_b)

    def verify(self) -> VerifyReport:
        """Check manifests, blobs, the pointer, the logs, pending pins, and that each published revision
        has its metrics and export."""
        with self.snapshot():  # read-only: the pointer and the blueprint read once
            return verify_movie(self)

    def repair(self) -> RepairReport:
        """Restore a lost pointer, quarantine bad log lines and corrupt blobs, finish interrupted
        housekeeping; what needs a regenerate is in the report."""
        return repair_movie(self)

    def collect_garbage(self, grace_seconds: float, dry_run: bool = False) -> GcReport:
        """Sweep blobs, prompt files and debris no revision or unfinished run references."""
        return GarbageCollector(self.fs, self.events).collect(grace_seconds, dry_run)

    def migrate(self, legacy_dir: Path) -> MigrationReport:
        """Import a legacy movie (one folder per revision); every revision it publishes gets its metrics and
        export."""
        from movie_assets.lifecycle.migrate import Migrator

        report = Migrator(self.fs).migrate(legacy_dir)
        write_revision_outputs(self)
        return report

    def regenerate(
        self,
        produce: ProduceFn,
        concurrency: int = 2,
        on_result: Callable[[JobResult], None] | None = None,
        on_plan: Callable[[ExecutionPlan], None] | None = None,
        up_to_layer: int | None = None,
    ) -> RegenerateOutcome:
        """Plan, run and commit; nothing is published when a job fails or the base moved.

        With `up_to_layer`, only layers 1..N run and nothing is published when the plan is longer:
        their results are logged, so the next regenerate reuses them. A second regenerate of the movie
        waits for the first (the run lease), then plans on what it published and reuses what it made."""
        with self.fs.lease(RUN_LEASE):
            return regenerate(self, produce, concurrency, on_result, on_plan, up_to_layer)
