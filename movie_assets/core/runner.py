"""The runner: executes a plan layer by layer under a concurrency cap, logging every result."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from movie_assets.core.blobs import BlobStore
from movie_assets.core.checkpoints import Checkpoints
from movie_assets.core.events import PENDING_ID, EventLog
from movie_assets.core.hashing import inputs_hash, json_hash
from movie_assets.core.manifests import ManifestConflict, ManifestService
from movie_assets.core.models import (
    ArtefactEvent,
    BlobRef,
    ExecutionPlan,
    InputEntry,
    JobDescriptor,
    JobRecord,
    JobResult,
    Manifest,
    RevisionId,
    RunProgress,
    RunResult,
    utc_now,
)
from movie_assets.core.planner import PlanStore, SucceededIndex, signature_deps
from movie_assets.core.storage import StorageContext

_LABEL = re.compile(r"^([a-z][a-z0-9_]*)-(\d{4,})$")


class ProducerError(RuntimeError):
    """A producer returned something the runner cannot store (missing output, wrong type)."""


@dataclass(frozen=True)
class ProduceInput:
    """One value handed to a producer: an input's value or an upstream artefact's blob."""

    kind: str
    id: str
    value: Any = None
    blob: BlobRef | None = None
    indices: dict[str, int] = field(default_factory=dict)


@dataclass
class ProduceRequest:
    """What a producer gets: its job, its named inputs (lists for collectors) and a blob loader."""

    movie_id: str
    revision: str
    job: JobDescriptor
    inputs: dict[str, ProduceInput | list[ProduceInput]]
    load: Callable[[BlobRef], bytes]

    def value(self, port: str, default: Any = None) -> Any:
        """An input's value, or an artefact's bytes decoded as UTF-8 text."""
        item = self.inputs.get(port)
        if item is None:
            return default
        assert not isinstance(item, list), f"{port} is a collected list"
        return item.value if item.kind == "input" else self.load(item.blob).decode("utf-8")  # type: ignore[arg-type]

    def items(self, port: str) -> list[ProduceInput]:
        item = self.inputs.get(port, [])
        return item if isinstance(item, list) else [item]


@dataclass
class ProduceResult:
    outputs: dict[str, bytes]
    cost: float = 0.0
    diagnostics: dict[str, Any] = field(default_factory=dict)


ProduceFn = Callable[[ProduceRequest], ProduceResult]


def indices_of(artefact_id: str) -> dict[str, int]:
    """Loop indices encoded in an artefact id's path (`segment-0002/...` -> {segment: 2})."""
    out = {}
    for part in artefact_id.split("/"):
        if match := _LABEL.match(part):
            out[match.group(1)] = int(match.group(2))
    return out


class Runner:
    """Runs plans for one movie. `produce` is injected; so are the clock and the logger."""

    def __init__(
        self,
        storage: StorageContext,
        movie_id: str,
        event_log: EventLog,
        produce: ProduceFn,
        concurrency: int = 2,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
        on_result: Callable[[JobResult], None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.storage = storage
        self.movie_id = movie_id
        self.events = event_log
        self.produce = produce
        self.concurrency = concurrency
        self.clock = clock
        self.log = logger or logging.getLogger(__name__)
        self.on_result = on_result
        self.blobs = BlobStore(storage, movie_id)
        self.plans = PlanStore(storage, movie_id)
        self.manifests = ManifestService(storage, movie_id)
        self._lock = threading.Lock()

    # ---- whole plans ------------------------------------------------------------------------------
    def execute(self, plan: ExecutionPlan) -> RunResult:
        """Run every layer; refuses to start when current.json moved off the plan's base hash."""
        current = self.manifests.load_current()
        if current.hash != plan.manifest_base_hash:
            raise ManifestConflict(
                f"{self.movie_id}: the live manifest moved since {plan.revision} was planned "
                f"(plan base {plan.manifest_base_hash}, live {current.hash}); replan"
            )
        context = _RunContext(
            plan=plan,
            base=current.manifest,
            index=Checkpoints(self.storage, self.movie_id).succeeded_index(self.events, self.blobs.has),
        )
        for record in plan.carried.values():
            context.known.update(record.outputs)
        plan_hash = json_hash(plan.model_dump(mode="json"))
        progress = self.plans.load_progress(plan.revision)
        # Only the same plan resumes: a new plan for the same revision number and base (say, after a
        # failed run and another edit) must not pick up results computed from other inputs.
        if progress and progress.manifest_base_hash == plan.manifest_base_hash and progress.plan_hash == plan_hash:
            for job_id, result in progress.results.items():
                if result.status in ("succeeded", "reused") and result.record and job_id in plan.job_ids:
                    context.results[job_id] = result.model_copy(update={"status": "reused"})
                    context.known.update(result.record.outputs)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for number, layer in enumerate(plan.layers, start=1):
                todo = [job for job in layer if job.job_id not in context.results]
                runnable = []
                for job in todo:
                    blocked = self._blocked_by(job, context)
                    if blocked:
                        self._finish(context, self._skip(job, plan, blocked))
                    else:
                        runnable.append(job)
                for result in pool.map(lambda job: self.execute_job(job, context), runnable):
                    self._finish(context, result)
                self.plans.save_progress(
                    RunProgress(
                        revision=plan.revision,
                        manifest_base_hash=plan.manifest_base_hash,
                        plan_hash=plan_hash,
                        completed_layers=number,
                        results=dict(context.results),
                    )
                )
        return RunResult(plan=plan, results=context.results)

    def _finish(self, context: _RunContext, result: JobResult) -> None:
        with self._lock:
            context.results[result.job_id] = result
            if result.record:
                context.known.update(result.record.outputs)
        if self.on_result:
            self.on_result(result)

    def _blocked_by(self, job: JobDescriptor, context: _RunContext) -> list[str]:
        upstream = {d.id.rsplit("/", 1)[0] for refs in job.deps.values() for d in refs if d.kind == "artefact"}
        return sorted(
            u for u in upstream if u in context.results and context.results[u].status in ("failed", "skipped")
        )

    def _skip(self, job: JobDescriptor, plan: ExecutionPlan, blocked: list[str]) -> JobResult:
        self.events.append_artefact(
            self._event(job, plan.revision, "skipped", signature="", diagnostics={"blocked_by": blocked})
        )
        return JobResult(job_id=job.job_id, status="skipped", error=f"upstream failed: {', '.join(blocked)}")

    # ---- one job ----------------------------------------------------------------------------------
    def execute_job(self, job: JobDescriptor, context: _RunContext) -> JobResult:
        """Run one job unless a result with the same actual signature exists (idempotent reuse)."""
        with self._lock:
            needed = {d.id for refs in job.deps.values() for d in refs}
            known = {a: context.known[a] for a in needed if a in context.known}
        try:
            prepared = self.prepare_job(
                job, context.plan.inputs, known, context.base, context.index, context.plan.revision
            )
        except ProducerError as exc:
            return self.record_failure(job, context.plan.revision, "", str(exc))
        if prepared.reused is not None:
            return self.record_reuse(prepared)
        started = self.clock()
        try:
            produced = self.produce(prepared.request)
            result = self.record_success(prepared, produced, self.clock() - started)
        except Exception as exc:  # a producer failure is a result, not a crash of the run
            self.log.warning("%s: job %s failed: %s", self.movie_id, job.job_id, exc)
            return self.record_failure(
                job, context.plan.revision, prepared.signature, f"{type(exc).__name__}: {exc}", self.clock() - started
            )
        with self._lock:
            for artefact_id, blob in (result.record.outputs if result.record else {}).items():
                context.index.add(
                    self._event(job, context.plan.revision, "succeeded", prepared.signature, artefact_id, blob)
                )
        return result

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
        deps = signature_deps(job, input_hashes, {a: known[a].hash for a in needed if a in known})
        if deps is None:
            missing = sorted(i for i in needed if i not in input_hashes and i not in known)
            raise ProducerError(f"dependencies not available: {missing}")
        signature = inputs_hash(job.producer, job.producer_version, deps, job.indices)
        wanted = [o.artefact_id for o in job.outputs]
        previous = base.jobs.get(job.job_id)
        reused, source = None, None
        if previous and previous.inputs_hash == signature and set(previous.outputs) == set(wanted):
            reused, source = previous.outputs, "manifest"
        elif (found := index.lookup(job.job_id, signature, wanted)) is not None:
            reused, source = found, "artefact log"
        if reused is not None and not all(self.blobs.has(b.hash) for b in reused.values()):
            reused, source = None, None
        request = ProduceRequest(
            movie_id=self.movie_id,
            revision=revision,
            job=job,
            inputs=self._request_inputs(job, inputs, known),
            load=self.blobs.get,
        )
        return PreparedJob(job, revision, signature, deps, request, reused, source)

    def record_reuse(self, prepared: PreparedJob) -> JobResult:
        """Log a reused result (status skipped, with the reused blob) and return it."""
        assert prepared.reused is not None
        job = prepared.job
        for output in job.outputs:
            self.events.append_artefact(
                self._event(
                    job,
                    prepared.revision,
                    "skipped",
                    prepared.signature,
                    output.artefact_id,
                    prepared.reused[output.artefact_id],
                    diagnostics={"reused_from": prepared.reused_from},
                )
            )
        record = self._record(job, prepared.signature, prepared.deps, prepared.reused)
        return JobResult(job_id=job.job_id, status="reused", record=record)

    def record_success(self, prepared: PreparedJob, produced: ProduceResult, duration: float = 0.0) -> JobResult:
        """Store a producer's outputs as blobs and log one event per artefact."""
        job = prepared.job
        outputs = self._store_outputs(job, produced)
        share = produced.cost / max(len(outputs), 1)
        for output in job.outputs:
            self.events.append_artefact(
                self._event(
                    job,
                    prepared.revision,
                    "succeeded",
                    prepared.signature,
                    output.artefact_id,
                    outputs[output.artefact_id],
                    cost=share,
                    duration=duration,
                    diagnostics=produced.diagnostics,
                )
            )
        return JobResult(
            job_id=job.job_id,
            status="succeeded",
            record=self._record(job, prepared.signature, prepared.deps, outputs),
            cost=produced.cost,
            duration_s=duration,
        )

    def _request_inputs(
        self, job: JobDescriptor, inputs: dict[str, InputEntry], known: dict[str, BlobRef]
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

    def _store_outputs(self, job: JobDescriptor, produced: ProduceResult) -> dict[str, BlobRef]:
        if not isinstance(produced, ProduceResult):
            raise ProducerError(f"producer returned {type(produced).__name__}, not ProduceResult")
        expected = {o.name for o in job.outputs}
        if set(produced.outputs) != expected:
            raise ProducerError(f"producer returned outputs {sorted(produced.outputs)}, expected {sorted(expected)}")
        stored = {}
        for output in job.outputs:
            data = produced.outputs[output.name]
            if not isinstance(data, bytes | bytearray):
                raise ProducerError(f"output {output.name!r} is {type(data).__name__}, not bytes")
            stored[output.artefact_id] = self.blobs.put(bytes(data), output.mime_type)
        return stored

    def record_failure(
        self, job: JobDescriptor, revision: str, signature: str, error: str, duration: float = 0.0
    ) -> JobResult:
        """Log a failed job (one event, no artefact) and return the failed result."""
        self.events.append_artefact(
            self._event(job, revision, "failed", signature, duration=duration, diagnostics={"error": error})
        )
        return JobResult(job_id=job.job_id, status="failed", error=error, duration_s=duration)

    def _record(self, job: JobDescriptor, signature: str, deps: dict[str, str], outputs: dict[str, BlobRef]):
        return JobRecord(
            job_id=job.job_id,
            producer=job.producer,
            producer_version=job.producer_version,
            inputs_hash=signature,
            indices=job.indices,
            deps=deps,
            outputs=outputs,
        )

    def _event(
        self,
        job: JobDescriptor,
        revision: str,
        status: str,
        signature: str,
        artefact_id: str | None = None,
        output: BlobRef | None = None,
        cost: float = 0.0,
        duration: float = 0.0,
        diagnostics: dict[str, Any] | None = None,
    ) -> ArtefactEvent:
        return ArtefactEvent(
            id=PENDING_ID,
            job_id=job.job_id,
            artefact_id=artefact_id,
            producer=job.producer,
            producer_version=job.producer_version,
            inputs_hash=signature,
            status=status,  # type: ignore[arg-type]
            output=output,
            revision=RevisionId(revision),
            cost=cost,
            duration_s=duration,
            diagnostics=diagnostics or {},
            created_at=utc_now(),
        )


@dataclass
class PreparedJob:
    """A job with its actual signature, ready to produce, or with the result it can reuse."""

    job: JobDescriptor
    revision: str
    signature: str
    deps: dict[str, str]
    request: ProduceRequest
    reused: dict[str, BlobRef] | None = None
    reused_from: str | None = None

    def data_version(self, outputs: dict[str, BlobRef] | None = None) -> str:
        return data_version_of(outputs if outputs is not None else (self.reused or {}))


def data_version_of(outputs: dict[str, BlobRef]) -> str:
    """A job's data version: its output's sha256, or the hash of {artefact: sha256} for several outputs."""
    if len(outputs) == 1:
        return next(iter(outputs.values())).hash
    return json_hash({a: b.hash for a, b in sorted(outputs.items())})


@dataclass
class _RunContext:
    plan: ExecutionPlan
    base: Manifest
    index: SucceededIndex
    known: dict[str, BlobRef] = field(default_factory=dict)
    results: dict[str, JobResult] = field(default_factory=dict)
