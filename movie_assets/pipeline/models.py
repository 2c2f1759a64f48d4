"""Models of planning and running: job descriptors, the layered plan, results and run progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from movie_assets.errors import InvalidValue
from movie_assets.store.models import (
    ArtefactEntry,
    BlueprintRef,
    InputEntry,
    JobRecord,
    Manifest,
    ManifestPointer,
    Record,
    RevisionId,
    TimelineDocument,
    as_floats,
    as_revisions,
    utc_now,
)

# msgspec records, as a manifest's are: a 10,000-job graph builds 30,000 OutputSpecs and DepRefs per
# expansion and reads them back from its on-disk index; a plan holds 10,000 descriptors and carries up to
# as many job records, and `plan --json` wrote them through pydantic's per-record callbacks at a tenth of a
# second. Plans and run progress are files this package writes; parse_document validates them on read.


class OutputSpec(Record):
    """One artefact a job writes."""

    name: str
    artefact_id: str
    mime_type: str
    prompt_file: str | None = None


class DepRef(Record):
    """One value feeding a job: an (expanded) input key or an artefact id."""

    kind: Literal["input", "artefact"]
    id: str


class JobDescriptor(Record, kw_only=True):
    """One planned producer job."""

    job_id: str
    path: list[str]
    producer: str
    producer_version: str
    implementation: str
    provider: str = "offline"
    model: str | None = None
    indices: dict[str, int] = {}
    params: dict[str, Any] = {}
    deps: dict[str, list[DepRef]] = {}
    collected: list[str] = []
    outputs: list[OutputSpec] = []
    reasons: list[str] = []
    direct: bool = False
    planned_hash: str | None = None
    take: int = 0  # 0: the producer's first take; more after a reroll


class ExecutionPlan(Record, kw_only=True):
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
    layers: list[list[JobDescriptor]] = []
    carried: dict[str, JobRecord] = {}
    reused: list[str] = []
    removed: list[str] = []
    changed_inputs: list[str] = []
    ignored: list[str] = []  # pins and takes naming no artefact or job of this graph: reported, not applied

    def __post_init__(self) -> None:
        as_revisions(self, "revision", "base_revision")

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


class JobResult(Record, kw_only=True):
    job_id: str
    status: JobStatus
    record: JobRecord | None = None
    error: str | None = None
    cost: float = 0.0
    duration_s: float = 0.0

    def __post_init__(self) -> None:
        as_floats(self, "cost", "duration_s")  # 0.0 in the stored progress, whatever the recorder passed


class RunProgress(Record, kw_only=True):
    """Checkpoint of a run in flight: which jobs finished, so a crashed run resumes where it stopped."""

    revision: RevisionId
    manifest_base_hash: str | None
    plan_hash: str | None = None  # progress resumes only the very plan it was written for
    completed_layers: int = 0
    results: dict[str, JobResult] = {}

    def __post_init__(self) -> None:
        as_revisions(self, "revision")


class RunResult(Record, kw_only=True):
    plan: ExecutionPlan
    results: dict[str, JobResult] = {}

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


@dataclass(frozen=True)
class RegenerateOutcome:
    """What a regenerate did: its plan, its run (None when nothing was to do), the published pointer and
    manifest, and where the published revision's final cut was written (relative to the movie)."""

    plan: ExecutionPlan
    run: RunResult | None
    pointer: ManifestPointer | None
    manifest: Manifest | None = None
    final_cut: str | None = None

    @property
    def committed(self) -> bool:
        return self.pointer is not None
