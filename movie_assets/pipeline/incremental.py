"""Which jobs a plan must decide, when the live manifest already matches the graph.

A plan after one edit of a 10,000-job movie has one job to decide and 9,999 to carry. Deciding each
costs microseconds, which add up to most of the plan, so a long-lived process (the Dagster sensor, a
regenerate that plans again after running) first learns, once per (live manifest, graph shape), which
jobs the manifest records exactly as the graph describes them. Later plans decide only the jobs an edit
can reach from there: readers of changed inputs, jobs with a take or a pin, jobs whose outputs left the
store, jobs the manifest does not match, and everything downstream of those. Every other job would be
carried from the manifest by the full pass anyway, so the plan is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from movie_assets.pipeline.blueprint import ProducerGraph
from movie_assets.pipeline.blueprint.graph import GraphIndex
from movie_assets.pipeline.signature import same_recipe
from movie_assets.store.cache import BoundedCache
from movie_assets.store.models import Manifest


@dataclass(frozen=True)
class Baseline:
    """What the live manifest says about one graph shape."""

    unmatched: frozenset[str]  # jobs whose record is not what the graph and the manifest's own values give
    artefact_hashes: dict[str, str]  # every recorded output's blob hash, by artefact id
    jobs_by_blob: dict[str, list[str]]  # blob hash -> jobs whose recorded outputs use it
    readers: dict[str, list[str]]  # input key -> jobs reading it
    dependents: dict[str, list[str]]  # job -> jobs reading its outputs


class PlanIndex(GraphIndex, Protocol):
    """Where graphs and a manifest's unmatched jobs are kept beyond this process (a movie's `index/`)."""

    def load_unmatched(self, manifest_hash: str, shape: tuple) -> frozenset[str] | None: ...


_BASELINES: BoundedCache[Baseline] = BoundedCache(8)


def baseline(
    graph: ProducerGraph, manifest: Manifest, manifest_hash: str | None, index: PlanIndex | None = None
) -> Baseline | None:
    """The manifest's baseline for this graph, or None when a full pass is the cheaper choice: the shape
    is new to this process (a one-off plan would pay for the baseline and the pass) or nothing is live.
    `index` may know the unmatched jobs already (the commit that made the manifest noted them)."""
    if manifest_hash is None or graph.shape is None or not graph.seen_before:
        return None
    key = (manifest_hash, graph.shape)
    found = _BASELINES.get(key)
    if found is None:
        known = index.load_unmatched(manifest_hash, graph.shape) if index is not None else None
        artefact_hashes: dict[str, str] = {}
        jobs_by_blob: dict[str, list[str]] = {}
        for job_id, record in manifest.jobs.items():
            for artefact_id, blob in record.outputs.items():
                artefact_hashes[artefact_id] = blob.hash
                jobs_by_blob.setdefault(blob.hash, []).append(job_id)
        unmatched = known if known is not None else unmatched_jobs(graph, manifest, artefact_hashes)
        found = Baseline(unmatched, artefact_hashes, jobs_by_blob, *graph.links())
        _BASELINES.put(key, found)
    return found


def baseline_held(manifest_hash: str) -> bool:
    """Whether this process holds a baseline of the manifest (for any graph shape)."""
    return any(key[0] == manifest_hash for key in _BASELINES.keys())  # type: ignore[index]


def unmatched_jobs(
    graph: ProducerGraph, manifest: Manifest, artefact_hashes: dict[str, str] | None = None
) -> frozenset[str]:
    """Jobs whose manifest record is not what the graph and the manifest's own values give."""
    if artefact_hashes is None:
        artefact_hashes = {a: b.hash for record in manifest.jobs.values() for a, b in record.outputs.items()}
    input_hashes = {k: e.hash for k, e in manifest.inputs.items()}
    unmatched: set[str] = set()
    for job_id, node in graph.nodes.items():
        previous = manifest.jobs.get(job_id)
        try:
            deps = {k: (input_hashes if inp else artefact_hashes)[ref] for k, inp, ref in node.signature_refs}
        except KeyError:
            deps = None
        # no deps (a pinned record, or a producer without inputs) never matches: decided every time
        if not (same_recipe(previous, node, deps) and previous.outputs.keys() == node.output_ids):
            unmatched.add(job_id)
    return frozenset(unmatched)


def jobs_to_decide(
    base: Baseline,
    changed_inputs: Iterable[str],
    steered_jobs: Iterable[str],
    blob_exists: Callable[[str], bool] | None,
) -> set[str]:
    """The jobs an edit can reach: the seeds named in the module docstring and their downstream closure."""
    seeds = set(base.unmatched)
    seeds.update(steered_jobs)
    for key in changed_inputs:
        seeds.update(base.readers.get(key, ()))
    if blob_exists is not None:
        for blob_hash in [h for h in base.jobs_by_blob if not blob_exists(h)]:
            seeds.update(base.jobs_by_blob[blob_hash])
    out, todo = set(seeds), list(seeds)
    while todo:
        for nxt in base.dependents.get(todo.pop(), ()):
            if nxt not in out:
                out.add(nxt)
                todo.append(nxt)
    return out
