"""The planner: which producer jobs must run for the next revision, and in which layers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from movie_assets.pipeline.blueprint import Blueprint, ProducerGraph, ProducerNode, expand_graph, kahn_layers
from movie_assets.pipeline.blueprint import normalise_edits as _normalise
from movie_assets.pipeline.blueprint.inputs import normalise_each
from movie_assets.pipeline.incremental import PlanIndex, baseline, jobs_to_decide
from movie_assets.pipeline.models import ExecutionPlan, JobDescriptor
from movie_assets.pipeline.signature import Decision, SucceededIndex, decide, job_record, pinned_record
from movie_assets.pipeline.steering import Steering, is_steering, pin_key, take_key
from movie_assets.store.cache import BoundedCache
from movie_assets.store.events import EventLog, fold_inputs
from movie_assets.store.hashing import json_hash
from movie_assets.store.models import InputEntry, JobRecord, Manifest, RevisionId, utc_now


def descriptor(
    node: ProducerNode, reasons: list[str], direct: bool, planned_hash: str | None, take: int = 0
) -> JobDescriptor:
    """The job's descriptor, from a node that expansion built from a validated blueprint."""
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
        take=take,
    )


def effective_inputs(
    blueprint: Blueprint,
    manifest: Manifest,
    event_log: EventLog,
    pending_edits: Mapping[str, Any] | None = None,
    manifest_hash: str | None = None,
    log_tail: bytes | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Manifest inputs folded with the input log after the manifest's cursor, then pending edits, every
    value checked against the blueprint. With `manifest_hash`, the manifest's own values are checked once
    per process per (blueprint, manifest). `log_tail`: the input log's tail if it was read ahead."""
    raw = dict(_manifest_values(blueprint, manifest, manifest_hash))
    # folded first, normalised once per key: a 100k-line tail of edits to 5k keys is 5k validations
    tail, cursor = fold_inputs(event_log, manifest.input_cursor, log_tail)
    if tail:
        raw.update(_tail_values(blueprint, tail, getattr(event_log, "movie_id", None)))
    if pending_edits:
        raw.update(_normalise(blueprint, pending_edits))
    # an unpinned artefact or a take reset leaves no trace in the next revision's inputs
    return {k: v for k, v in raw.items() if v is not None or not is_steering(k)}, cursor


_CHECKED: BoundedCache[dict[str, Any]] = BoundedCache(8)


def _manifest_values(blueprint: Blueprint, manifest: Manifest, manifest_hash: str | None) -> dict[str, Any]:
    """The manifest's input values, normalised against the blueprint (shared: never mutate). Checking
    5,000 unchanged segment texts again was a sixth of a one-edit plan."""
    values = {k: v.value for k, v in manifest.inputs.items()}
    if manifest.blueprint is not None and manifest.blueprint.hash == blueprint.hash:
        # committed from a plan of this very blueprint, which normalised them (normalising is idempotent):
        # checking them again was a fifth of a fresh process's first plan
        return values
    key = (blueprint.hash, manifest_hash)
    found = _CHECKED.get(key) if manifest_hash is not None else None
    if found is None:
        found = _normalise(blueprint, values)
        if manifest_hash is not None:
            _CHECKED.put(key, found)
    return found


_TAILS: BoundedCache[dict[str, tuple[Any, dict[str, Any]]]] = BoundedCache(8)


def _tail_values(blueprint: Blueprint, tail: dict[str, Any], movie_id: str | None) -> dict[str, Any]:
    """The folded tail, normalised; an edit whose plain value was normalised by an earlier plan of this
    process is not checked again. A sensor planning after each new edit of a 100k-line tail spent a
    sixth of each plan checking the 5,000 values it had checked the tick before."""
    key = (blueprint.hash, movie_id)
    memo = _TAILS.get(key) or {}
    misses = {}
    for k, v in tail.items():
        seen = memo.get(k)
        if seen is None or type(seen[0]) is not type(v) or type(v) not in _PLAIN or seen[0] != v:
            misses[k] = v
    if misses:
        memo = {**memo, **{k: (tail[k], items) for k, items in normalise_each(blueprint, misses).items()}}
        _TAILS.put(key, memo)  # a new dict: another thread may be reading the one it replaces
    out: dict[str, Any] = {}
    for k in tail:
        out.update(memo[k][1])
    return out


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
        blob_exists: Callable[[str], bool] | None = None,
        graph_index: PlanIndex | None = None,
        inputs: tuple[dict[str, Any], str | None] | None = None,
    ) -> ExecutionPlan:
        """The next revision's plan. With `blob_exists`, a job whose recorded outputs are gone from the
        store (deleted, or quarantined as corrupt) is dirty and reruns, with the jobs that read it.
        `graph_index` keeps expanded graphs and baselines beyond this process (see graph_index.py).
        `inputs`: what effective_inputs answers for these arguments, where the caller has it already."""
        raw, cursor = inputs or effective_inputs(blueprint, manifest, event_log, pending_edits, manifest_hash)
        graph = expand_graph(blueprint, raw, graph_index, normalised=True)
        if succeeded is None:
            succeeded = SucceededIndex(event_log.stream_artefacts())
        # the manifest keeps explicit values outside the current loop range so shrinking then growing loses nothing
        kept = {k: v for k, v in raw.items() if k not in graph.inputs}
        entries = {k: _entry(v, manifest.inputs.get(k)) for k, v in {**kept, **graph.inputs}.items()}
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
        steering = Steering.of(raw)
        before = Steering.of({k: e.value for k, e in manifest.inputs.items() if is_steering(k)})  # the base's takes
        order = graph.topological_order()
        base = baseline(graph, manifest, manifest_hash, graph_index)
        if base is not None:  # decide only what the edit can reach; the rest is carried as the full pass would
            visit = jobs_to_decide(base, changed_inputs, _steered(steering, before) & graph.nodes.keys(), blob_exists)
            artefact_hashes = dict(base.artefact_hashes)
            for job_id in visit:  # a decided job's old outputs must not stand in for its new ones
                for artefact_id in graph.nodes[job_id].output_ids:
                    artefact_hashes.pop(artefact_id, None)
            carried = {j: manifest.jobs[j] for j in graph.nodes if j not in visit}
            order = [j for j in order if j in visit]
        for job_id in order:
            node = graph.nodes[job_id]
            previous = manifest.jobs.get(job_id)
            pinned = steering.pinned([o.artefact_id for o in node.outputs]) if steering.pins else None
            if pinned:  # the user's file stands in for the producer: nothing runs, readers see its hash
                record = pinned_record(node, pinned)
                same = previous is not None and previous.inputs_hash == record.inputs_hash
                carried[job_id] = previous if same else record  # type: ignore[assignment]
                artefact_hashes.update({a: b.hash for a, b in pinned.items()})
                continue
            take = steering.takes.get(job_id, 0)
            # a job reading a dirty job's output has no signature yet (the runner computes it); knowing
            # that up front spares a failed lookup for half the jobs of a tail that edits every segment
            decision = (
                None
                if dirty and not dirty.keys().isdisjoint(node.upstream_jobs)  # iterates the smaller side
                else decide(
                    node,
                    input_hashes,
                    artefact_hashes,
                    previous,
                    succeeded,
                    blob_exists,
                    take,
                    before.takes.get(job_id, 0),
                )
            )
            if decision is not None and decision.reused is not None:
                if decision.source == "manifest":
                    carried[job_id] = previous  # type: ignore[assignment]
                else:
                    carried[job_id] = job_record(node, decision.signature, decision.deps, decision.reused)
                    reused.append(job_id)
                for artefact_id, blob in decision.reused.items():
                    artefact_hashes[artefact_id] = blob.hash
                continue
            reasons, direct = _reasons(node, previous, decision, take, blob_exists)
            if not reasons:
                reasons, direct = _why_dirty(node, previous, input_hashes, artefact_hashes, dirty.keys())
            dirty[job_id] = descriptor(node, reasons, direct, decision.signature if decision else None, take)

        layers = _layers(graph, dirty.keys())
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
            ignored=_unknown_steering(steering, graph),
        )


def _layers(graph: ProducerGraph, dirty: AbstractSet[str]) -> list[list[str]]:
    """Kahn layers of the dirty jobs; when every job is dirty (a first plan, a tail that edits every
    segment), the shape's own layers, noted once."""
    if len(dirty) == len(graph.nodes):
        return graph.layers()
    return kahn_layers({j: graph.nodes[j].upstream_jobs for j in dirty})


def _steered(steering: Steering, before: Steering) -> set[str]:
    """Jobs with a take or a pinned output, now or in the live manifest."""
    jobs = set(steering.takes) | set(before.takes)
    jobs.update(artefact_id.rsplit("/", 1)[0] for artefact_id in (*steering.pins, *before.pins))
    return jobs


def _unknown_steering(steering: Steering, graph: ProducerGraph) -> list[str]:
    """Pins and takes that name no artefact or job of the graph (say, of a segment the movie no longer
    has): kept with the inputs, so they apply again if it comes back, and reported, never fatal."""
    unknown = [take_key(job) for job in steering.takes if job not in graph.nodes]
    for artefact_id in steering.pins:
        job = artefact_id.rsplit("/", 1)[0]
        if job not in graph.nodes or artefact_id not in graph.nodes[job].output_ids:
            unknown.append(pin_key(artefact_id))
    return sorted(unknown)


def _entry(value: Any, before: InputEntry | None) -> InputEntry:
    """The input's entry, reusing the manifest's (and its hash) when a plain value is unchanged: an edit of
    one segment leaves 5,000 others that need no canonical JSON and sha256 again. Same type as well as
    equal, because 1 == 1.0 == True in Python but not in JSON."""
    if before is not None and type(before.value) is type(value) and type(value) in _PLAIN and before.value == value:
        return before
    return InputEntry(value=value, hash=json_hash(value))


_PLAIN = (str, int, bool, type(None))


def _reasons(
    node: ProducerNode,
    previous: JobRecord | None,
    decision: Decision | None,
    take: int,
    blob_exists: Callable[[str], bool] | None,
) -> tuple[list[str], bool]:
    """Reasons only the planner's own decision can give: outputs gone from the store, a reroll."""
    if decision is None or previous is None:
        return [], False
    if previous.inputs_hash == decision.signature:
        gone = sorted(b.hash[:12] for b in previous.outputs.values() if blob_exists and not blob_exists(b.hash))
        return [f"output blob missing from the store: {', '.join(gone)}"], True
    return ([f"reroll: take {take}"], True) if take and _same_deps(node, previous) else ([], False)


def _same_deps(node: ProducerNode, previous: JobRecord) -> bool:
    """True when only the take can have changed the signature (same version and dependencies)."""
    ids = {key.split("=", 1)[1] for key in previous.deps}
    return previous.producer_version == node.version and ids == {r.id for refs in node.deps.values() for r in refs}


UPSTREAM_SHOWN = 10  # a timeline over 5,000 segments would otherwise carry a 100 KB reason


def _upstream_reason(jobs: list[str]) -> str:
    """`upstream dirty: a, b` naming the first jobs, with how many more there are."""
    shown = ", ".join(jobs[:UPSTREAM_SHOWN])
    more = len(jobs) - UPSTREAM_SHOWN
    return f"upstream dirty: {shown}" + (f" and {more:,} more" if more > 0 else "")


def version_reasons(old: str, new: str) -> list[str]:
    """Why two recipe versions (`1+model=gpt;prompt=ab12cd34`) differ, in words."""
    old_base, _, old_recipe = old.partition("+")
    new_base, _, new_recipe = new.partition("+")
    before = dict(p.split("=", 1) for p in old_recipe.split(";") if "=" in p)
    after = dict(p.split("=", 1) for p in new_recipe.split(";") if "=" in p)
    reasons = [f"producer version {old_base} -> {new_base}"] if old_base != new_base else []
    if before.get("model") != after.get("model"):
        reasons.append(f"model choice {before.get('model', 'default')} -> {after.get('model', 'default')}")
    if before.get("params") != after.get("params") and before.get("model") == after.get("model"):
        reasons.append("model parameters changed")
    if before.get("prompt") != after.get("prompt"):
        reasons.append(
            "prompt template changed" if before.get("prompt") and after.get("prompt") else "prompt added or removed"
        )
    return reasons or [f"producer version {old} -> {new}"]


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
        reasons += version_reasons(previous.producer_version, node.version)
    upstream_dirty = sorted(j for j in node.upstream_jobs if j in dirty_jobs)
    recorded = previous.deps
    by_id: dict[str, str] | None = None  # the record's hashes by dependency id, built only when needed
    matched = 0
    for key, is_input, dep_id in node.signature_refs:
        kind = "input" if is_input else "artefact"
        before = recorded.get(key)  # the same port, position and id: the usual case, no parsing
        if before is not None:
            matched += 1
        else:
            if by_id is None:
                by_id = {k.split("=", 1)[1]: h for k, h in recorded.items()}
            before = by_id.get(dep_id)
            if before is None:
                reasons.append(f"{kind} {dep_id} added to {key[: key.index('[')]}")
                continue
        if not is_input and dep_id.rsplit("/", 1)[0] in dirty_jobs:
            continue
        if before != (input_hashes if is_input else artefact_hashes).get(dep_id):
            reasons.append(f"{kind} {dep_id} changed")
    if matched < len(recorded):  # some recorded dependency was not found under its key: maybe removed
        new_ids = {dep_id for _, _, dep_id in node.signature_refs}
        old_ids = by_id if by_id is not None else {k.split("=", 1)[1]: h for k, h in recorded.items()}
        reasons += [f"dependency {gone} removed" for gone in sorted(set(old_ids) - new_ids)]
    direct = bool(reasons)
    if upstream_dirty:
        reasons.append(_upstream_reason(upstream_dirty))
    if not reasons:  # same deps and version but the signature differs (e.g. the blueprint renamed a port)
        reasons, direct = ["job signature changed"], True
    return reasons, direct
