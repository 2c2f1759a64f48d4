"""The runner: executes a plan layer by layer under a concurrency cap, logging every result."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from movie_assets.errors import InvalidValue, ManifestConflict, ProducerError
from movie_assets.pipeline.models import ExecutionPlan, JobDescriptor, JobResult, RunProgress, RunResult
from movie_assets.pipeline.plans import PlanStore
from movie_assets.pipeline.produce import ProduceFn, ProduceInput, ProduceRequest, ProduceResult, indices_of
from movie_assets.pipeline.recorder import JobRecorder, PreparedJob
from movie_assets.pipeline.recording import Early, Recording, held_or_stored, outputs_in_memory
from movie_assets.pipeline.runlog import RunLog
from movie_assets.pipeline.signature import SucceededIndex, decide
from movie_assets.store.blobs import BlobStore
from movie_assets.store.derived import INDEX_DIR, DerivedFolder
from movie_assets.store.events import EventLog
from movie_assets.store.hashing import json_hash
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import BlobRef, InputEntry, Manifest
from movie_assets.store.parallel import at_once, io_threads, later, threads_for
from movie_assets.store.paths import STAGING_DIR
from movie_assets.store.storage import MovieFS


class Runner:
    """Runs plans for one movie. `produce` is injected; so are the clock and the logger.

    `index` holds the reusable results (the caller builds it from checkpoints + the log tail); without
    it the whole artefact log is read.
    """

    def __init__(
        self,
        fs: MovieFS,
        event_log: EventLog,
        produce: ProduceFn,
        concurrency: int = 2,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
        on_result: Callable[[JobResult], None] | None = None,
        index: SucceededIndex | None = None,
    ) -> None:
        if concurrency < 1:
            raise InvalidValue("concurrency must be at least 1")
        self.fs = fs
        self.movie_id = fs.movie_id
        self.events = event_log
        self.produce = produce
        self.concurrency = concurrency
        self.clock = clock
        self.log = logger or logging.getLogger(__name__)
        self.on_result = on_result
        self.blobs = BlobStore(fs)
        self.plans = PlanStore(fs)
        self.manifests = ManifestService(fs)
        self.recorder = JobRecorder(self.blobs, event_log)
        self.scratch = scratch_folder(fs)
        self._index = index
        self._lock = threading.Lock()

    # ---- whole plans ------------------------------------------------------------------------------
    def execute(
        self,
        plan: ExecutionPlan,
        only: Callable[[JobDescriptor], bool] | None = None,
        base: Manifest | None = None,
        saving: ExecutionPlan | None = None,
    ) -> RunResult:
        """Run every layer; refuses to start when current.json moved off the plan's base hash. `base`: the
        live manifest the caller planned on just now, taken as it is (the commit still checks it).

        With `only`, just the jobs it selects run (a Dagster step runs one producer's jobs of a movie);
        the others are neither run nor recorded, their upstream results come from the plan's carried
        jobs, and no progress file is written (the orchestrator tracks its own steps). `saving`: a plan to
        store (runs/<rev>-plan.json) before any job runs, beside the run's first reads."""
        if base is None:
            current = self.manifests.load_current()
            if current.hash != plan.manifest_base_hash:
                raise ManifestConflict(
                    f"{self.movie_id}: the live manifest moved since {plan.revision} was planned "
                    f"(plan base {plan.manifest_base_hash}, live {current.hash}); replan"
                )
            base = current.manifest
        index = (
            self._index if self._index is not None else SucceededIndex(self.events.stream_artefacts(), self.blobs.has)
        )
        context = _RunContext(plan=plan, base=base, index=index, log=RunLog(plan, subset=only is not None))
        for record in plan.carried.values():
            context.known.update(record.outputs)
        plan_hash = json_hash(plan.to_builtins())
        if only is None:
            self._resume(context, plan_hash, saving)
        elif saving is not None:
            self.plans.save(saving)
        saver = ThreadPoolExecutor(max_workers=1)
        try:
            saves = self._layers(context, plan_hash, only, saver)
        finally:
            # the run log and the progress saves still in flight are records the store outlives: within
            # `overlapped` (a regenerate) they are written beside what comes next, the commit's first requests
            later(lambda: context.log.write(self.fs))
            saver.shutdown(wait=False)
        for save in saves:  # in order; a failed one fails the run, or within `overlapped` is logged
            later(save.result)
        return RunResult(plan=plan, results=context.results)

    def _layers(
        self,
        context: _RunContext,
        plan_hash: str,
        only: Callable[[JobDescriptor], bool] | None,
        saver: ThreadPoolExecutor,
    ) -> list[Future]:
        """Each layer's jobs, then its progress; the progress saves, unwaited.

        On a remote root a job's outputs are stored and logged while the next layers run on their bytes,
        held in memory until stored: a chain of small jobs waits for no round trip between its links.
        A layer's progress is saved (by `saver`) once its outputs are logged; a crash leaves it behind
        the run, and the results logged since are reused all the same. A store that refuses outputs
        (found before each layer) stops the layers after it, as a failed producer does."""
        plan = context.plan
        saves: list[Future] = []
        # on a remote root a job's outputs are stored while the producers go on to the next jobs
        recording = Recording(io_threads(self.fs)) if self.fs.backend.remote else None
        context.read_later = {upstream for job in plan.jobs for upstream in _upstream(job)}
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool, recording or contextlib.nullcontext():
            for number, layer in enumerate(plan.layers, start=1):
                recordings = list(context.recordings.values())
                if any(future.done() and future.result().status == "failed" for future in recordings):
                    self._settle(context, recordings)  # its dependents are then blocked
                runnable = self._runnable(layer, context, only)
                recorded: list[Future] = []
                for result in pool.map(lambda job: self.execute_job(job, context, recording), runnable):
                    if isinstance(result, Early):
                        with self._lock:
                            context.known.update(result.outputs)
                        recorded.append(result.recorded)
                    elif isinstance(result, Future):
                        self._settle(context, [result])
                    else:
                        self._finish(context, result)
                if only is not None:
                    continue
                if saves and saves[-1].done():
                    saves[-1].result()  # a failed save fails the run as soon as it is known
                if self.fs.backend.remote:
                    saves.append(saver.submit(self._save_progress, context, plan_hash, number, recorded))
                else:
                    self._save_progress(context, plan_hash, number, recorded)
            self._settle(context, list(context.recordings.values()))
        return saves

    def _runnable(
        self, layer: list[JobDescriptor], context: _RunContext, only: Callable[[JobDescriptor], bool] | None
    ) -> list[JobDescriptor]:
        """The layer's jobs to run: not done, selected, and with no failed upstream (those are logged as
        skipped here)."""
        runnable = []
        for job in layer:
            if job.job_id in context.results or (only is not None and not only(job)):
                continue
            blocked = self._blocked_by(job, context)
            if blocked:
                self._finish(context, self.recorder.skip(job, context.plan.revision, blocked))
            else:
                runnable.append(job)
        return runnable

    def _save_progress(self, context: _RunContext, plan_hash: str, number: int, recorded: list[Future]) -> None:
        self._settle(context, recorded)
        with self._lock:
            results = dict(context.results)
        plan = context.plan
        progress = RunProgress(
            revision=plan.revision,
            manifest_base_hash=plan.manifest_base_hash,
            plan_hash=plan_hash,
            completed_layers=number,
            results=results,
        )
        self.plans.save_progress(progress)

    def _settle(self, context: _RunContext, recorded: list[Future]) -> None:
        """Wait for these jobs' outputs to be stored and logged, and count each result once."""
        for future in list(recorded):
            result = future.result()
            with self._lock:
                if future in context.settled:
                    continue
                context.settled.add(future)
            self._finish(context, result)

    def _resume(self, context: _RunContext, plan_hash: str, saving: ExecutionPlan | None = None) -> None:
        """Take over the results of an earlier, interrupted run of the very same plan.

        Only the same plan resumes: a new plan for the same revision number and base (say, after a
        failed run and another edit) must not pick up results computed from other inputs."""
        plan = context.plan
        calls = [lambda: self.plans.load_progress(plan.revision)]
        if saving is not None:
            calls.append(lambda: self.plans.save(saving))
        if self.fs.backend.remote:  # the log is read beside the progress, so its write at the end is one request
            calls.append(lambda: context.log.look(self.fs))
        progress = at_once(calls, threads_for(self.fs, 3))[0]
        if not progress or progress.manifest_base_hash != plan.manifest_base_hash or progress.plan_hash != plan_hash:
            return
        for job_id, result in progress.results.items():
            if result.status in ("succeeded", "reused") and result.record and job_id in plan.job_ids:
                context.results[job_id] = result.replace(status="reused")
                context.known.update(result.record.outputs)

    def _finish(self, context: _RunContext, result: JobResult) -> None:
        with self._lock:
            context.results[result.job_id] = result
            context.log.job(result)
            if result.record:
                context.known.update(result.record.outputs)
        if self.on_result:
            self.on_result(result)

    def _blocked_by(self, job: JobDescriptor, context: _RunContext) -> list[str]:
        return sorted(
            u for u in _upstream(job) if u in context.results and context.results[u].status in ("failed", "skipped")
        )

    # ---- one job ----------------------------------------------------------------------------------
    def execute_job(
        self, job: JobDescriptor, context: _RunContext, recording: Recording | None = None
    ) -> JobResult | Future[JobResult]:
        """Run one job unless a result with the same actual signature exists (idempotent reuse). With
        `recording`, its outputs are stored and logged there while this thread goes on: a Future then."""
        with self._lock:
            needed = {d.id for refs in job.deps.values() for d in refs}
            known = {a: context.known[a] for a in needed if a in context.known}
        try:
            prepared = self.prepare_job(
                job, context.plan.inputs, known, context.base, context.index, context.plan.revision
            )
        except ProducerError as exc:
            return self.recorder.failure(job, context.plan.revision, "", str(exc))
        if prepared.reused is not None:
            return self.recorder.reuse(prepared)
        started = self.clock()
        try:
            if context.held:  # outputs of earlier layers still being stored are read from memory
                prepared.request.load = functools.partial(held_or_stored, context.held, self.blobs.get)
            self.blobs.prefetch([ref for ref in prepared.request.artefact_blobs() if ref.hash not in context.held])
            produced = self.produce(prepared.request)
        except Exception as exc:  # a producer failure is a result, not a crash of the run
            return self._failed(prepared, exc, self.clock() - started)
        seconds = self.clock() - started
        if recording is None:
            return self._record(prepared, produced, seconds, context)
        outputs = outputs_in_memory(job, produced) if job.job_id in context.read_later else None
        for ref, data in (outputs or {}).values():
            context.held[ref.hash] = data
        upstream = [context.recordings[u] for u in _upstream(job) if u in context.recordings]

        def record() -> JobResult:
            try:
                # along the jobs' edges: an input read from memory is stored before this job's outputs are
                # logged (and an output equal to it is stored with it)
                lost = sorted(
                    done.job_id for done in (future.result() for future in upstream) if done.status != "succeeded"
                )
                if lost:
                    return self._failed(
                        prepared, ProducerError(f"its inputs from {', '.join(lost)} were not stored"), seconds
                    )
                return self._record(prepared, produced, seconds, context)
            finally:  # stored (or refused): later reads go to the store
                for ref, _ in (outputs or {}).values():
                    context.held.pop(ref.hash, None)

        recorded = context.recordings[job.job_id] = recording.submit(record)
        if outputs is None:
            return recorded
        return Early({artefact: ref for artefact, (ref, _) in outputs.items()}, recorded)

    def _record(
        self, prepared: PreparedJob, produced: ProduceResult, seconds: float, context: _RunContext
    ) -> JobResult:
        """Store the job's outputs and log them; only then does it count as succeeded."""
        try:
            result = self.recorder.success(prepared, produced, seconds)
        except Exception as exc:  # outputs that do not match the job's, a store that refused them
            return self._failed(prepared, exc, seconds)
        if result.record:  # the index keeps up with the log: this run's results count for later lookups
            with self._lock:
                context.index.add_outputs(prepared.job.job_id, prepared.signature, result.record.outputs)
        return result

    def _failed(self, prepared: PreparedJob, exc: Exception, seconds: float) -> JobResult:
        job = prepared.job
        self.log.warning("%s: job %s failed: %s", self.movie_id, job.job_id, exc)
        error = f"{type(exc).__name__}: {exc}"
        return self.recorder.failure(job, prepared.revision, prepared.signature, error, seconds)

    def prepare_job(
        self,
        job: JobDescriptor,
        inputs: dict[str, InputEntry],
        known: dict[str, BlobRef],
        base: Manifest,
        index: SucceededIndex,
        revision: str,
    ) -> PreparedJob:
        """Compute the job's actual signature from its upstream hashes and find a reusable result.

        The result is reusable when the base manifest or the artefact log holds a succeeded result with
        the same signature whose blobs are present (idempotent retries and early cutoff).
        """
        # only this job's dependencies: copying every input and artefact per job would make a run quadratic
        needed = {d.id for refs in job.deps.values() for d in refs}
        input_hashes = {k: inputs[k].hash for k in needed if k in inputs}
        artefact_hashes = {a: known[a].hash for a in needed if a in known}
        decision = decide(job, input_hashes, artefact_hashes, base.jobs.get(job.job_id), index, self.blobs.has)
        if decision is None:
            missing = sorted(i for i in needed if i not in input_hashes and i not in known)
            raise ProducerError(f"dependencies not available: {missing}")
        request = ProduceRequest(
            movie_id=self.movie_id,
            revision=revision,
            job=job,
            inputs=_request_inputs(job, inputs, known),
            load=self.blobs.get,
            scratch=self.scratch,
            cache=DerivedFolder(self.fs, f"{INDEX_DIR}/cache/{job.producer}"),
        )
        return PreparedJob(job, revision, decision, request)


def scratch_folder(fs: MovieFS) -> str | None:
    """Where producers keep temporary files: under the movie's `.staging/` on a local root, which GC
    sweeps of anything a killed run left behind; the system's temp folder elsewhere (None)."""
    if fs.storage.config.driver != "local":
        return None
    folder = fs.resolve(f"{STAGING_DIR}/scratch", internal=True)
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):  # a read-only or full root: the system's temp folder
            pass
    except OSError:
        return None
    return folder


def _upstream(job: JobDescriptor) -> set[str]:
    """The jobs whose artefacts `job` reads."""
    return {d.id.rsplit("/", 1)[0] for refs in job.deps.values() for d in refs if d.kind == "artefact"}


def _request_inputs(
    job: JobDescriptor, inputs: dict[str, InputEntry], known: dict[str, BlobRef]
) -> dict[str, ProduceInput | list[ProduceInput]]:
    out: dict[str, ProduceInput | list[ProduceInput]] = {}
    for port, refs in job.deps.items():
        items = [
            ProduceInput(kind="input", id=r.id, value=inputs[r.id].value)
            if r.kind == "input"
            else ProduceInput(kind="artefact", id=r.id, blob=known[r.id], indices=indices_of(r.id))
            for r in refs
        ]
        out[port] = items if port in job.collected else items[0]
    return out


@dataclass
class _RunContext:
    plan: ExecutionPlan
    base: Manifest
    index: SucceededIndex
    log: RunLog
    known: dict[str, BlobRef] = field(default_factory=dict)
    results: dict[str, JobResult] = field(default_factory=dict)
    read_later: set[str] = field(default_factory=set)  # jobs whose outputs other jobs read
    held: dict[str, bytes] = field(default_factory=dict)  # outputs read by later layers before they are stored
    recordings: dict[str, Future] = field(default_factory=dict)  # each job's storing and logging, by job id
    settled: set[Future] = field(default_factory=set)  # recordings whose results are counted
