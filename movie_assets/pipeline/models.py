"""Models of planning and running: job descriptors, the layered plan, results and run progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ConfigDict, Field

from movie_assets.errors import InvalidValue
from movie_assets.store.models import (
    ArtefactEntry,
    BlueprintRef,
    InputEntry,
    JobRecord,
    Manifest,
    RevisionId,
    StrictModel,
    TimelineDocument,
    utc_now,
)

# OutputSpec and DepRef are plain frozen dataclasses, not models: a 10,000-job graph builds 30,000 of
# them per expansion (three times cheaper than a model) and reads them back from its on-disk index with
# msgspec. Pydantic still validates them (extra keys refused) where they arrive inside a JobDescriptor.
_STRICT = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """One artefact a job writes."""

    __pydantic_config__ = _STRICT

    name: str
    artefact_id: str
    mime_type: str
    prompt_file: str | None = None


@dataclass(frozen=True, slots=True)
class DepRef:
    """One value feeding a job: an (expanded) input key or an artefact id."""

    __pydantic_config__ = _STRICT

    kind: Literal["input", "artefact"]
    id: str


class JobDescriptor(StrictModel):
    """One planned producer job."""

    job_id: str
    path: list[str]
    producer: str
    producer_version: str
    implementation: str
    provider: str = "offline"
    model: str | None = None
    indices: dict[str, int] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    deps: dict[str, list[DepRef]] = Field(default_factory=dict)
    collected: list[str] = Field(default_factory=list)
    outputs: list[OutputSpec] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    direct: bool = False
    planned_hash: str | None = None
    take: int = 0  # 0: the producer's first take; more after a reroll


class ExecutionPlan(StrictModel):
    """The planner's layered plan for one target revision."""

    movie_id: str
    revision: RevisionId
    base_revision: RevisionId
    manifest_base_hash: str | None
    created_at: str
    blueprint: BlueprintRef
    inputs: dict[str, InputEntry]
    input_cursor: str | None = None
    artefact_cursor: str | None = None
    layers: list[list[JobDescriptor]] = Field(default_factory=list)
    carried: dict[str, JobRecord] = Field(default_factory=dict)
    reused: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed_inputs: list[str] = Field(default_factory=list)

    @property
    def jobs(self) -> list[JobDescriptor]:
        return [job for layer in self.layers for job in layer]

    @property
    def job_ids(self) -> list[str]:
        return [job.job_id for job in self.jobs]

    @property
    def directly_dirty(self) -> set[str]:
        return {job.job_id for job in self.jobs if job.direct}

    def has_changes(self) -> bool:
        return bool(self.layers or self.reused or self.removed or self.changed_inputs)


JobStatus = Literal["succeeded", "reused", "failed", "skipped"]


class JobResult(StrictModel):
    job_id: str
    status: JobStatus
    record: JobRecord | None = None
    error: str | None = None
    cost: float = 0.0
    duration_s: float = 0.0


class RunProgress(StrictModel):
    """Checkpoint of a run in flight: which jobs finished, so a crashed run resumes where it stopped."""

    revision: RevisionId
    manifest_base_hash: str | None
    plan_hash: str | None = None  # progress resumes only the very plan it was written for
    completed_layers: int = 0
    results: dict[str, JobResult] = Field(default_factory=dict)


class RunResult(StrictModel):
    plan: ExecutionPlan
    results: dict[str, JobResult] = Field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return all(r.status in ("succeeded", "reused") for r in self.results.values()) and len(self.results) == len(
            self.plan.jobs
        )

    @property
    def produced(self) -> list[str]:
        return [j for j, r in self.results.items() if r.status == "succeeded"]

    @property
    def failed(self) -> list[str]:
        return [j for j, r in self.results.items() if r.status == "failed"]

    def build_manifest(
        self,
        previous: Manifest,
        previous_hash: str | None,
        timeline: TimelineDocument | None = None,
        created_at: str | None = None,
    ) -> Manifest:
        """Merge the previous manifest's carried jobs with this run's results into the next manifest."""
        if not self.succeeded:
            raise InvalidValue(f"run did not succeed (failed: {self.failed}); nothing to publish")
        jobs: dict[str, JobRecord] = dict(self.plan.carried)
        for job_id, result in self.results.items():
            assert result.record is not None
            jobs[job_id] = result.record
        artefacts = {
            artefact_id: ArtefactEntry(blob=blob, job_id=record.job_id, inputs_hash=record.inputs_hash)
            for record in jobs.values()
            for artefact_id, blob in record.outputs.items()
        }
        return Manifest(
            movie_id=self.plan.movie_id,
            revision=self.plan.revision,
            parent=previous.revision,
            parent_hash=previous_hash,
            created_at=created_at or utc_now(),
            blueprint=self.plan.blueprint,
            inputs=self.plan.inputs,
            jobs=dict(sorted(jobs.items())),
            artefacts=dict(sorted(artefacts.items())),
            timeline=timeline,
            input_cursor=self.plan.input_cursor,
            artefact_cursor=self.plan.artefact_cursor,
        )
