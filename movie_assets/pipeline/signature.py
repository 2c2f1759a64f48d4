"""Job signatures and reuse: one decision, shared by the planner (ahead of time) and the runner (just before).

A job's signature hashes its producer, version, loop indices and the hashes of what it reads. A job
whose signature matches the live manifest's record is carried; one matching a succeeded result in the
artefact log is reused; anything else runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Literal, NamedTuple

from movie_assets.pipeline.blueprint import ProducerNode
from movie_assets.pipeline.blueprint.graph import dep_key
from movie_assets.pipeline.models import JobDescriptor
from movie_assets.store.hashing import inputs_hash, json_hash
from movie_assets.store.models import ArtefactEvent, BlobRef, JobRecord


def signature_deps(
    node: ProducerNode | JobDescriptor, input_hashes: Mapping[str, str], artefact_hashes: Mapping[str, str]
) -> dict[str, str] | None:
    """Dependency hashes of a job, or None when an upstream artefact's hash is not known yet."""
    if isinstance(node, ProducerNode):
        try:
            return {
                key: (input_hashes if is_input else artefact_hashes)[id_] for key, is_input, id_ in node.signature_refs
            }
        except KeyError:
            return None
    out: dict[str, str] = {}
    for port, refs in node.deps.items():
        for position, ref in enumerate(refs):
            source = input_hashes if ref.kind == "input" else artefact_hashes
            if ref.id not in source:
                return None
            out[dep_key(port, position, ref.id)] = source[ref.id]
    return out


class SucceededIndex:
    """Succeeded producer results from the artefact log, by (job id, signature).

    `shared` is an index a long-lived process keeps (see lifecycle.checkpoints): read, never changed;
    results added later are kept apart and win over it. Copying 10,000 entries was a tenth of a fresh
    process's plan."""

    def __init__(
        self,
        events: Iterable[ArtefactEvent] = (),
        blob_exists: Callable[[str], bool] | None = None,
        shared: Mapping[tuple[str, str], Mapping[str, BlobRef]] | None = None,
    ) -> None:
        self._outputs: dict[tuple[str, str], dict[str, BlobRef]] = {}
        self._shared = shared if shared is not None else {}
        self.last_id: str | None = None
        # results whose blobs were garbage-collected are not reusable
        self._blob_exists = blob_exists
        for event in events:
            self.add(event)

    def add(self, event: ArtefactEvent) -> None:
        self.last_id = event.id
        if event.status == "succeeded" and event.artefact_id and event.output:
            self._outputs.setdefault((event.job_id, event.inputs_hash), {})[event.artefact_id] = event.output

    def with_blob_check(self, blob_exists: Callable[[str], bool]) -> SucceededIndex:
        """The same results with their blobs checked by `blob_exists` (a plan checks a listing it made,
        a run the store itself); the shared index is shared, the rest copied."""
        copy = SucceededIndex(blob_exists=blob_exists, shared=self._shared)
        copy._outputs = {key: dict(outputs) for key, outputs in self._outputs.items()}
        copy.last_id = self.last_id
        return copy

    def add_outputs(self, job_id: str, signature: str, outputs: Mapping[str, BlobRef]) -> None:
        self._outputs.setdefault((job_id, signature), {}).update(outputs)

    def __len__(self) -> int:
        return len(self._outputs.keys() | self._shared.keys()) if self._shared else len(self._outputs)

    def lookup(self, job_id: str, signature: str, artefact_ids: Iterable[str]) -> dict[str, BlobRef] | None:
        key = (job_id, signature)
        found = self._outputs.get(key)
        shared = self._shared.get(key)
        if found is None:
            if shared is None:  # the usual answer while planning a dirty job: nothing to build
                return None
            found = shared  # type: ignore[assignment]
        elif shared is not None:
            found = {**shared, **found}
        wanted = list(artefact_ids)
        if wanted and all(a in found for a in wanted):
            if self._blob_exists and not all(self._blob_exists(found[a].hash) for a in wanted):
                return None
            return {a: found[a] for a in wanted}
        return None


Source = Literal["manifest", "artefact log", "pin"]


class Decision(NamedTuple):
    """A job's actual signature and, when one exists, the result it can reuse and where it came from.

    A tuple: the planner makes one per job, and a frozen dataclass costs several times as much to build."""

    signature: str
    deps: dict[str, str]
    reused: dict[str, BlobRef] | None = None
    source: Source | None = None


def decide(
    job: ProducerNode | JobDescriptor,
    input_hashes: Mapping[str, str],
    artefact_hashes: Mapping[str, str],
    previous: JobRecord | None,
    index: SucceededIndex,
    blob_exists: Callable[[str], bool] | None = None,
    take: int | None = None,
    previous_take: int | None = None,
) -> Decision | None:
    """Signature and reuse decision for one job; None while an upstream hash is unknown (it must run first).

    `blob_exists`, when given, also vets the live manifest's outputs (the runner passes it just before
    producing; the planner trusts the manifest, and the index vets the artefact log's results itself).
    """
    deps = signature_deps(job, input_hashes, artefact_hashes)
    if deps is None:
        return None
    if take is None:
        take = getattr(job, "take", 0)
    version = version_of(job)
    # previous_take == 0: the record's signature was made without a take (unknown: hash again)
    if take == 0 and previous_take == 0 and same_recipe(previous, job, deps):
        # everything the hash covers is what the manifest hashed: reuse its signature (an edit of one
        # segment leaves 10,000 others to check, and hashing each again was most of planning them)
        signature = previous.inputs_hash
    else:
        signature = inputs_hash(job.producer, version, deps, job.indices, take)
    wanted = job.output_ids if isinstance(job, ProducerNode) else frozenset(o.artefact_id for o in job.outputs)
    reused: dict[str, BlobRef] | None = None
    source: Source | None = None
    if previous and previous.inputs_hash == signature and previous.outputs.keys() == wanted:
        reused, source = previous.outputs, "manifest"
    elif (found := index.lookup(job.job_id, signature, wanted)) is not None:
        reused, source = found, "artefact log"
    if reused is not None and blob_exists is not None and not all(blob_exists(b.hash) for b in reused.values()):
        reused, source = None, None
    return Decision(signature, deps, reused, source)


def same_recipe(previous: JobRecord | None, job: ProducerNode | JobDescriptor, deps: dict[str, str] | None) -> bool:
    """True when the record was made from exactly what this job hashes (producer, version, indices and
    dependency hashes), so its signature is the job's without hashing again (the take aside)."""
    return (
        previous is not None
        and bool(deps)  # a pinned record has no deps and a pin's hash: never take it for the producer's
        and previous.deps == deps
        and previous.producer == job.producer
        and previous.producer_version == version_of(job)
        and previous.indices == job.indices
    )


def pinned_record(job: ProducerNode | JobDescriptor, outputs: dict[str, BlobRef]) -> JobRecord:
    """The record of a job whose output the user supplied: no producer runs, the pin is the signature."""
    signature = json_hash({"pinned": {a: b.hash for a, b in sorted(outputs.items())}})
    return job_record(job, signature, {}, outputs)


def version_of(job: ProducerNode | JobDescriptor) -> str:
    """The producer version of a graph node or a planned job."""
    return job.version if isinstance(job, ProducerNode) else job.producer_version


def job_record(
    job: ProducerNode | JobDescriptor, signature: str, deps: dict[str, str], outputs: dict[str, BlobRef]
) -> JobRecord:
    """The manifest's record of a job that produced (or reused) `outputs` under `signature`."""
    return JobRecord(
        job_id=job.job_id,
        producer=job.producer,
        producer_version=version_of(job),
        inputs_hash=signature,
        indices=job.indices,
        deps=deps,
        outputs=outputs,
    )
