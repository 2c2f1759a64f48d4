"""The planner: which producer jobs must run for the next revision, and in which layers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from movie_assets.core.blueprint import Blueprint, ProducerNode, blueprint_for_config, kahn_layers
from movie_assets.core.blueprint import normalise_edits as _normalise
from movie_assets.core.events import EventLog
from movie_assets.core.hashing import inputs_hash, json_hash
from movie_assets.core.models import (
    ArtefactEvent,
    BlobRef,
    ExecutionPlan,
    InputEntry,
    JobDescriptor,
    JobRecord,
    Manifest,
    RevisionId,
    RunProgress,
    utc_now,
)
from movie_assets.core.storage import NotFound, StorageContext


def dep_key(port: str, position: int, dep_id: str) -> str:
    """Signature key of one dependency: the port, its position in a collected list, and the dep id."""
    return f"{port}[{position}]={dep_id}"


def signature_deps(
    node: ProducerNode | JobDescriptor, input_hashes: Mapping[str, str], artefact_hashes: Mapping[str, str]
) -> dict[str, str] | None:
    """Dependency hashes of a job, or None when an upstream artefact's hash is not known yet."""
    out: dict[str, str] = {}
    for port, refs in node.deps.items():
        for position, ref in enumerate(refs):
            source = input_hashes if ref.kind == "input" else artefact_hashes
            if ref.id not in source:
                return None
            out[dep_key(port, position, ref.id)] = source[ref.id]
    return out


class SucceededIndex:
    """Succeeded producer results from the artefact log, by (job id, signature)."""

    def __init__(self, events: Iterable[ArtefactEvent] = (), blob_exists: Callable[[str], bool] | None = None) -> None:
        self._outputs: dict[tuple[str, str], dict[str, BlobRef]] = {}
        self.last_id: str | None = None
        # results whose blobs were garbage-collected are not reusable
        self._blob_exists = blob_exists
        for event in events:
            self.add(event)

    def add(self, event: ArtefactEvent) -> None:
        self.last_id = event.id
        if event.status == "succeeded" and event.artefact_id and event.output:
            self._outputs.setdefault((event.job_id, event.inputs_hash), {})[event.artefact_id] = event.output

    def add_outputs(self, job_id: str, signature: str, outputs: Mapping[str, BlobRef]) -> None:
        self._outputs.setdefault((job_id, signature), {}).update(outputs)

    def __len__(self) -> int:
        return len(self._outputs)

    def lookup(self, job_id: str, signature: str, artefact_ids: Iterable[str]) -> dict[str, BlobRef] | None:
        found = self._outputs.get((job_id, signature), {})
        wanted = list(artefact_ids)
        if wanted and all(a in found for a in wanted):
            if self._blob_exists and not all(self._blob_exists(found[a].hash) for a in wanted):
                return None
            return {a: found[a] for a in wanted}
        return None


def descriptor(node: ProducerNode, reasons: list[str], direct: bool, planned_hash: str | None) -> JobDescriptor:
    return JobDescriptor(
        job_id=node.job_id,
        path=node.path,
        producer=node.producer,
        producer_version=node.version,
        implementation=node.implementation,
        provider=node.provider,
        model=node.model,
        indices=node.indices,
        params=node.params,
        deps=node.deps,
        collected=node.collected,
        outputs=node.outputs,
        reasons=reasons,
        direct=direct,
        planned_hash=planned_hash,
    )


def effective_inputs(
    blueprint: Blueprint,
    manifest: Manifest,
    event_log: EventLog,
    pending_edits: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Manifest inputs folded with the input log after the manifest's cursor, then pending edits."""
    raw: dict[str, Any] = {k: v.value for k, v in manifest.inputs.items()}
    cursor = manifest.input_cursor
    for event in event_log.stream_inputs(after=manifest.input_cursor):
        raw.update(_normalise(blueprint, {event.key: event.value}))
        cursor = event.id
    if pending_edits:
        raw.update(_normalise(blueprint, pending_edits))
    return raw, cursor


@dataclass
class Planner:
    """compute_plan: dirty detection against the manifest, signature reuse from the log, Kahn layers."""

    clock: Any = utc_now

    def compute_plan(
        self,
        movie_id: str,
        manifest: Manifest,
        manifest_hash: str | None,
        event_log: EventLog,
        blueprint: Blueprint,
        target_revision: RevisionId | None = None,
        pending_edits: Mapping[str, Any] | None = None,
        succeeded: SucceededIndex | None = None,
    ) -> ExecutionPlan:
        raw, cursor = effective_inputs(blueprint, manifest, event_log, pending_edits)
        graph = blueprint_for_config(blueprint, raw)
        if succeeded is None:
            succeeded = SucceededIndex(event_log.stream_artefacts())
        # the manifest keeps explicit values outside the current loop range so shrinking then growing loses nothing
        kept = {k: v for k, v in raw.items() if k not in graph.inputs}
        entries = {k: InputEntry(value=v, hash=json_hash(v)) for k, v in {**kept, **graph.inputs}.items()}
        input_hashes = {k: e.hash for k, e in entries.items()}
        changed_inputs = sorted(
            k
            for k in set(entries) | set(manifest.inputs)
            if (entries[k].hash if k in entries else None)
            != (manifest.inputs[k].hash if k in manifest.inputs else None)
        )

        artefact_hashes: dict[str, str] = {}
        carried: dict[str, JobRecord] = {}
        reused: list[str] = []
        dirty: dict[str, JobDescriptor] = {}
        for job_id in graph.topological_order():
            node = graph.nodes[job_id]
            previous = manifest.jobs.get(job_id)
            deps = signature_deps(node, input_hashes, artefact_hashes)
            if deps is not None:
                signature = inputs_hash(node.producer, node.version, deps, node.indices)
                wanted = [o.artefact_id for o in node.outputs]
                if previous and previous.inputs_hash == signature and set(previous.outputs) == set(wanted):
                    carried[job_id] = previous
                    artefact_hashes.update({a: b.hash for a, b in previous.outputs.items()})
                    continue
                found = succeeded.lookup(job_id, signature, wanted)
                if found is not None:
                    carried[job_id] = _record(node, signature, deps, found)
                    artefact_hashes.update({a: b.hash for a, b in found.items()})
                    reused.append(job_id)
                    continue
            else:
                signature = None
            reasons, direct = _why_dirty(node, previous, input_hashes, artefact_hashes, dirty.keys())
            dirty[job_id] = descriptor(node, reasons, direct, signature)

        layers = kahn_layers({j: graph.nodes[j].upstream_jobs for j in dirty})
        return ExecutionPlan(
            movie_id=movie_id,
            revision=target_revision or manifest.revision.next(),
            base_revision=manifest.revision,
            manifest_base_hash=manifest_hash,
            created_at=self.clock(),
            blueprint=blueprint.ref,
            inputs=dict(sorted(entries.items())),
            input_cursor=cursor,
            artefact_cursor=succeeded.last_id or manifest.artefact_cursor,
            layers=[[dirty[j] for j in layer] for layer in layers],
            carried=dict(sorted(carried.items())),
            reused=reused,
            removed=sorted(set(manifest.jobs) - set(graph.nodes)),
            changed_inputs=changed_inputs,
        )


def _record(node: ProducerNode, signature: str, deps: dict[str, str], outputs: dict[str, BlobRef]) -> JobRecord:
    return JobRecord(
        job_id=node.job_id,
        producer=node.producer,
        producer_version=node.version,
        inputs_hash=signature,
        indices=node.indices,
        deps=deps,
        outputs=outputs,
    )


def _why_dirty(
    node: ProducerNode,
    previous: JobRecord | None,
    input_hashes: Mapping[str, str],
    artefact_hashes: Mapping[str, str],
    dirty_jobs: AbstractSet[str],
) -> tuple[list[str], bool]:
    """Reasons a job must run, and whether any is direct (not merely an upstream job being dirty)."""
    if previous is None:
        return ["new job (not in the current revision)"], True
    reasons: list[str] = []
    if previous.producer_version != node.version:
        reasons.append(f"producer version {previous.producer_version} -> {node.version}")
    upstream_dirty = sorted(node.upstream_jobs & dirty_jobs)
    old_ids = {key.split("=", 1)[1]: h for key, h in previous.deps.items()}
    new_ids: set[str] = set()
    for port, refs in node.deps.items():
        for ref in refs:
            new_ids.add(ref.id)
            if ref.id not in old_ids:
                reasons.append(f"{ref.kind} {ref.id} added to {port}")
                continue
            if ref.kind == "artefact" and ref.id.rsplit("/", 1)[0] in dirty_jobs:
                continue
            current = (input_hashes if ref.kind == "input" else artefact_hashes).get(ref.id)
            if old_ids[ref.id] != current:
                reasons.append(f"{ref.kind} {ref.id} changed")
    for gone in sorted(set(old_ids) - new_ids):
        reasons.append(f"dependency {gone} removed")
    direct = bool(reasons)
    if upstream_dirty:
        reasons.append("upstream dirty: " + ", ".join(upstream_dirty))
    if not reasons:  # same deps and version but the signature differs (e.g. the blueprint renamed a port)
        reasons, direct = ["job signature changed"], True
    return reasons, direct


class PlanStore:
    """`runs/<rev>-plan.json` and `runs/<rev>-progress.json` of one movie."""

    def __init__(self, storage: StorageContext, movie_id: str) -> None:
        self.storage = storage
        self.movie_id = movie_id

    def save(self, plan: ExecutionPlan) -> str:
        rel = f"runs/{plan.revision}-plan.json"
        self.storage.write_atomic(self.movie_id, rel, plan.canonical())
        return rel

    def load(self, revision: RevisionId | str) -> ExecutionPlan:
        rel = f"runs/{RevisionId(revision)}-plan.json"
        return ExecutionPlan.parse_document(self.storage.read(self.movie_id, rel), f"{self.movie_id}/{rel}")

    def save_progress(self, progress: RunProgress) -> None:
        self.storage.write_atomic(self.movie_id, f"runs/{progress.revision}-progress.json", progress.canonical())

    def load_progress(self, revision: RevisionId | str) -> RunProgress | None:
        rel = f"runs/{RevisionId(revision)}-progress.json"
        try:
            raw = self.storage.read(self.movie_id, rel)
        except NotFound:
            return None
        return RunProgress.parse_document(raw, f"{self.movie_id}/{rel}")
