"""Recording job results: outputs into the blob store, one artefact event per output, a JobRecord back.

The runner and the Dagster IO manager both record through JobRecorder, so a result looks the same
whichever face produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from movie_assets.errors import ProducerError
from movie_assets.pipeline.models import JobDescriptor, JobResult, OutputSpec
from movie_assets.pipeline.produce import ProduceRequest, ProduceResult
from movie_assets.pipeline.signature import Decision, job_record
from movie_assets.store.blobs import BlobStore
from movie_assets.store.events import PENDING_ID, EventLog
from movie_assets.store.hashing import json_hash
from movie_assets.store.models import ArtefactEvent, BlobRef, RevisionId, utc_now
from movie_assets.store.parallel import each, threads_for


@dataclass
class PreparedJob:
    """A job with its actual signature, ready to produce, or with the result it can reuse."""

    job: JobDescriptor
    revision: str
    decision: Decision
    request: ProduceRequest

    @property
    def signature(self) -> str:
        return self.decision.signature

    @property
    def reused(self) -> dict[str, BlobRef] | None:
        return self.decision.reused

    @property
    def reused_from(self) -> str | None:
        return self.decision.source

    def data_version(self, outputs: dict[str, BlobRef] | None = None) -> str:
        return data_version_of(outputs if outputs is not None else (self.reused or {}))


def data_version_of(outputs: dict[str, BlobRef]) -> str:
    """A job's data version: its output's sha256, or the hash of {artefact: sha256} for several outputs."""
    if len(outputs) == 1:
        return next(iter(outputs.values())).hash
    return json_hash({a: b.hash for a, b in sorted(outputs.items())})


class JobRecorder:
    """Writes the outcome of each job of one movie: blobs, artefact events, and the JobResult."""

    def __init__(self, blobs: BlobStore, events: EventLog) -> None:
        self.blobs = blobs
        self.events = events

    def reuse(self, prepared: PreparedJob) -> JobResult:
        """Log a reused result (status skipped, with the reused blob) and return it."""
        reused = prepared.reused
        assert reused is not None
        job = prepared.job
        self.events.append_artefacts(
            [
                artefact_event(
                    job,
                    prepared.revision,
                    "skipped",
                    prepared.signature,
                    output.artefact_id,
                    reused[output.artefact_id],
                    diagnostics={"reused_from": prepared.reused_from},
                )
                for output in job.outputs
            ]
        )
        record = job_record(job, prepared.signature, prepared.decision.deps, reused)
        return JobResult(job_id=job.job_id, status="reused", record=record)

    def success(self, prepared: PreparedJob, produced: ProduceResult, duration: float = 0.0) -> JobResult:
        """Store a producer's outputs as blobs and log one event per artefact."""
        job = prepared.job
        # an output equal to one of the job's inputs (a script that takes the story's line) is kept by
        # every GC sweep through whatever names that input: stored without taking the GC lock
        inputs = frozenset(blob.hash for blob in prepared.request.artefact_blobs())
        outputs = self.store_outputs(job, produced, inputs)
        share = produced.cost / max(len(outputs), 1)
        # one append for the job's every output: a story of thirty lines is one write to the log, not thirty
        self.events.append_artefacts(
            [
                artefact_event(
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
                for output in job.outputs
            ]
        )
        return JobResult(
            job_id=job.job_id,
            status="succeeded",
            record=job_record(job, prepared.signature, prepared.decision.deps, outputs),
            cost=produced.cost,
            duration_s=duration,
        )

    def failure(
        self, job: JobDescriptor, revision: str, signature: str, error: str, duration: float = 0.0
    ) -> JobResult:
        """Log a failed job (one event, no artefact) and return the failed result."""
        self.events.append_artefact(
            artefact_event(job, revision, "failed", signature, duration=duration, diagnostics={"error": error})
        )
        return JobResult(job_id=job.job_id, status="failed", error=error, duration_s=duration)

    def skip(self, job: JobDescriptor, revision: str, blocked: list[str]) -> JobResult:
        """Log a job not run because an upstream job failed."""
        self.events.append_artefact(artefact_event(job, revision, "skipped", "", diagnostics={"blocked_by": blocked}))
        return JobResult(job_id=job.job_id, status="skipped", error=f"upstream failed: {', '.join(blocked)}")

    def store_outputs(
        self, job: JobDescriptor, produced: ProduceResult, marked: frozenset[str] = frozenset()
    ) -> dict[str, BlobRef]:
        """Check a producer's outputs against the job's declared outputs and store each as a blob."""
        if not isinstance(produced, ProduceResult):
            raise ProducerError(f"producer returned {type(produced).__name__}, not ProduceResult")
        expected = {o.name for o in job.outputs}
        if set(produced.outputs) != expected:
            raise ProducerError(f"producer returned outputs {sorted(produced.outputs)}, expected {sorted(expected)}")
        for output in job.outputs:
            data = produced.outputs[output.name]
            if not hasattr(data, "read") and not isinstance(data, bytes | bytearray):
                for other in produced.outputs.values():
                    if hasattr(other, "close"):
                        other.close()
                raise ProducerError(f"output {output.name!r} is {type(data).__name__}, not bytes or a file")

        def one(output: OutputSpec) -> BlobRef:
            data = produced.outputs[output.name]
            if hasattr(data, "read"):  # a downloaded file: streamed into the store, never held whole
                try:
                    return self.blobs.put(data, output.mime_type, marked)
                finally:
                    data.close()
            return self.blobs.put(bytes(data), output.mime_type, marked)

        # on S3 each output is a round trip of its own: a story's thirty lines go up together
        refs = each(one, job.outputs, threads_for(self.blobs.fs))
        return {output.artefact_id: ref for output, ref in zip(job.outputs, refs, strict=True)}


def artefact_event(
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
    """An artefact-log event for one job outcome (the log assigns its id on append)."""
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
        cost=float(cost),  # 1.0 in the log, never 1: its bytes are what they always were
        duration_s=float(duration),
        diagnostics=diagnostics or {},
        created_at=utc_now(),
    )
