"""Expansion of a blueprint into the graph of producer jobs (one per loop instance), and Kahn layers."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from movie_assets.errors import CycleError
from movie_assets.pipeline.blueprint.inputs import resolve_inputs
from movie_assets.pipeline.blueprint.schema import Blueprint, ProducerSpec, Ref, parse_ref
from movie_assets.pipeline.models import DepRef, OutputSpec
from movie_assets.pipeline.steering import MODEL
from movie_assets.store.cache import BoundedCache, computed_once
from movie_assets.store.hashing import json_hash


def recipe_version(spec: ProducerSpec, choice_id: str | None) -> str:
    """The producer's version, plus its model choice and prompt when it has them: either changing
    changes every signature of the producer, and the planner reads which one from this string."""
    parts = []
    if choice_id is not None:
        parts.append(f"model={choice_id}")
        choice = spec.models.get(choice_id)
        if choice is not None and choice.params:  # the model's own parameters (duration, size, ...)
            parts.append(f"params={json_hash(choice.params)[:8]}")
    if spec.prompt is not None:
        parts.append(f"prompt={spec.prompt.text_hash()[:8]}")
    return f"{spec.version}+{';'.join(parts)}" if parts else spec.version


def dep_key(port: str, position: int, dep_id: str) -> str:
    """Signature key of one dependency: the port, its position in a collected list, and the dep id."""
    return f"{port}[{position}]={dep_id}"


def loop_label(loop: str, index: int) -> str:
    return f"{loop}-{index:04d}"


@dataclass
class ProducerNode:
    """One concrete producer job of the expanded graph."""

    job_id: str
    path: list[str]
    producer: str
    version: str
    implementation: str
    provider: str
    model: str | None
    indices: dict[str, int]
    params: dict[str, Any]
    deps: dict[str, list[DepRef]]
    collected: list[str]
    outputs: list[OutputSpec]

    @computed_once
    def signature_refs(self) -> tuple[tuple[str, bool, str], ...]:
        """(signature key, is an input, id) of each dependency, in signature order (built once per node:
        a planner deciding 10,000 jobs would otherwise format every key again)."""
        return tuple(
            (dep_key(port, position, ref.id), ref.kind == "input", ref.id)
            for port, refs in self.deps.items()
            for position, ref in enumerate(refs)
        )

    @computed_once
    def output_ids(self) -> frozenset[str]:
        """The artefact ids this job writes."""
        return frozenset(o.artefact_id for o in self.outputs)

    @computed_once
    def upstream_jobs(self) -> frozenset[str]:
        """Jobs this one reads from (computed once: a fan-in node has thousands of deps)."""
        return frozenset(d.id.rsplit("/", 1)[0] for refs in self.deps.values() for d in refs if d.kind == "artefact")


@dataclass
class Expansion:
    """What one graph shape expands to, shared by every graph of that shape (nodes are never mutated)."""

    nodes: Mapping[str, ProducerNode]  # a dict, or a stored graph's nodes decoded on first use
    order: list[str]  # job ids, dependencies first
    readers: dict[str, list[str]] | None = None  # input key -> jobs reading it
    dependents: dict[str, list[str]] | None = None  # job -> jobs reading its outputs
    layers: list[list[str]] | None = None  # Kahn layers of every job, once asked for

    def links(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """(readers, dependents), computed on first use."""
        if self.readers is None or self.dependents is None:
            readers: dict[str, list[str]] = {}
            dependents: dict[str, list[str]] = {}
            for job_id in self.order:
                node = self.nodes[job_id]
                for up in node.upstream_jobs:
                    dependents.setdefault(up, []).append(job_id)
                for _key, is_input, ref in node.signature_refs:
                    if is_input:
                        readers.setdefault(ref, []).append(job_id)
            self.readers, self.dependents = readers, dependents
        return self.readers, self.dependents


@dataclass
class ProducerGraph:
    """Producer jobs after loop expansion, keyed by job id, plus the resolved inputs."""

    blueprint: Blueprint
    inputs: dict[str, Any]
    nodes: Mapping[str, ProducerNode] = field(default_factory=dict)
    _order: list[str] | None = field(default=None, repr=False, compare=False)
    shape: tuple | None = field(default=None, repr=False, compare=False)  # what the expansion depended on
    seen_before: bool = field(default=False, repr=False, compare=False)  # this process expanded the shape before
    expansion: Expansion | None = field(default=None, repr=False, compare=False)  # shared by graphs of the shape
    _layers: list[list[str]] | None = field(default=None, repr=False, compare=False)

    def topological_order(self) -> list[str]:
        """Job ids, dependencies first (Kahn); CycleError naming the nodes left if there is a cycle.

        Computed once per graph (expansion checks for cycles, the planner then walks the same order)."""
        if self._order is None or len(self._order) != len(self.nodes):
            self._layers = kahn_layers({j: n.upstream_jobs for j, n in self.nodes.items()})
            self._order = [j for layer in self._layers for j in layer]
        return self._order

    def links(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """(input key -> jobs reading it, job -> jobs reading its outputs), once per shape."""
        return self._shared().links()

    def layers(self) -> list[list[str]]:
        """Kahn layers of every job, once per shape: a plan where every job is dirty runs exactly these."""
        shared = self._shared()
        if shared.layers is None:
            shared.layers = kahn_layers({j: n.upstream_jobs for j, n in self.nodes.items()})
        return shared.layers

    def _shared(self) -> Expansion:
        if self.expansion is None or self.expansion.nodes is not self.nodes:
            self.expansion = Expansion(self.nodes, self.topological_order(), layers=self._layers)
        return self.expansion


def kahn_layers(deps: Mapping[str, set[str]]) -> list[list[str]]:
    """Layers of nodes whose dependencies (restricted to `deps`' keys) are in earlier layers.

    Linear in nodes + edges: in-degrees and a dependents index, not a rescan per layer."""
    indegree: dict[str, int] = {}
    dependents: dict[str, list[str]] = {}
    for node, ds in deps.items():
        inside = [d for d in ds if d in deps]  # restricted graphs (a plan's dirty subset) leave deps outside
        indegree[node] = len(inside)
        for d in inside:
            dependents.setdefault(d, []).append(node)
    layers: list[list[str]] = []
    ready = sorted(n for n, k in indegree.items() if k == 0)
    placed = 0
    while ready:
        layers.append(ready)
        placed += len(ready)
        nxt = []
        for n in ready:
            for m in dependents.get(n, ()):
                indegree[m] -= 1
                if indegree[m] == 0:
                    nxt.append(m)
        ready = sorted(nxt)
    if placed != len(indegree):
        remaining = sorted(n for n, k in indegree.items() if k > 0)
        raise CycleError([("graph", "cycle between jobs: " + ", ".join(remaining))])
    return layers


class GraphIndex(Protocol):
    """Somewhere expanded graphs are kept beyond this process (a movie's `index/graphs/`)."""

    def load(self, shape: tuple) -> Expansion | None: ...


# Expanded graphs by shape: nodes depend on the blueprint, the loop counts, the model picks and which
# inputs exist, never on input values, so an edit of a value (the usual edit) reuses the expansion.
# Nodes are never mutated once built, so graphs of one shape share them.
_EXPANDED: BoundedCache[Expansion] = BoundedCache(8)


def expand_graph(
    bp: Blueprint, inputs: Mapping[str, Any], index: GraphIndex | None = None, normalised: bool = False
) -> ProducerGraph:
    """Expand loops into concrete producer jobs (`segment-0000/script`...), one node per instance.

    A shape expanded before in this process, or found in `index`, is not expanded again. `normalised`:
    the inputs were checked against `bp` already (effective_inputs does), so they are not checked again."""
    resolved = resolve_inputs(bp, inputs, normalised)
    expander = _Expander(bp, resolved, inputs)
    shape = (bp.hash, tuple(expander.counts.items()), tuple(sorted(expander.picks.items())), frozenset(resolved))
    cached = _EXPANDED.get(shape)
    if cached is None and index is not None and (cached := index.load(shape)) is not None:
        _EXPANDED.put(shape, cached)
    if cached is not None:
        return ProducerGraph(bp, resolved, cached.nodes, cached.order, shape=shape, seen_before=True, expansion=cached)
    nodes: dict[str, ProducerNode] = {}
    for name, spec in bp.producers.items():
        for combo in itertools.product(*[range(expander.counts[loop]) for loop in spec.loops]):
            node = expander.node(name, dict(zip(spec.loops, combo, strict=True)))
            nodes[node.job_id] = node
    graph = ProducerGraph(blueprint=bp, inputs=resolved, nodes=nodes, shape=shape)
    _EXPANDED.put(shape, graph._shared())  # ordering it: a cycle in the expanded graph is an error here, never later
    return graph


class _Expander:
    """What expansion needs about a blueprint: loop counts, and which source feeds each producer port."""

    def __init__(self, bp: Blueprint, resolved: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
        self.bp = bp
        self.resolved = resolved
        self.counts = {name: resolved[loop.count] for name, loop in bp.loops.items()}
        self.picks = {key[len(MODEL) :]: value for key, value in inputs.items() if key.startswith(MODEL) and value}
        self.by_target: dict[tuple[str, str], tuple[str, Ref]] = {}
        for kind, conns in (("connection", bp.connections), ("collector", bp.collectors)):
            for conn in conns:
                dst, src = parse_ref(conn.to), parse_ref(conn.from_)
                assert dst and src and dst.port
                self.by_target[(dst.node, dst.port)] = (kind, src)

    def job_path(self, producer: str, indices: Mapping[str, int]) -> list[str]:
        return [loop_label(loop, indices[loop]) for loop in self.bp.producers[producer].loops] + [producer]

    def node(self, name: str, indices: dict[str, int]) -> ProducerNode:
        spec = self.bp.producers[name]
        choice_id, choice = spec.choice(self.picks.get(name))
        path = self.job_path(name, indices)
        job_id = "/".join(path)
        deps: dict[str, list[DepRef]] = {}
        collected: list[str] = []
        for port in spec.inputs:
            if (name, port) not in self.by_target:
                continue
            kind, src = self.by_target[(name, port)]
            refs = self._refs(kind, src, indices)
            if kind == "collector":  # a collector's port is a list, empty while its loop count is 0
                collected.append(port)
                deps[port] = refs
            elif refs:
                deps[port] = refs
        params = dict(spec.params)
        if choice is not None:
            params.update(choice.params)
        if spec.prompt is not None:  # the template travels with the job; its text is in the signature
            params["prompt"] = {"system": spec.prompt.system, "user": spec.prompt.user}
        return ProducerNode(
            job_id=job_id,
            path=path,
            producer=name,
            version=recipe_version(spec, choice_id),
            implementation=(choice.implementation if choice else None) or spec.implementation or name,
            provider=choice.provider if choice else spec.provider,
            model=choice.model if choice else spec.model,
            indices=indices,
            params=params,
            deps=deps,
            collected=collected,
            outputs=self._outputs(name, job_id, indices),
        )

    def _refs(self, kind: str, src: Ref, indices: Mapping[str, int]) -> list[DepRef]:
        if src.port is None:  # a user input; loop inputs are picked by the job's index
            input_spec = self.bp.inputs[src.node]
            key = f"{src.node}[{indices[input_spec.loop]}]" if input_spec.loop else src.node
            return [DepRef(kind="input", id=key)] if key in self.resolved else []
        source = self.bp.producers[src.node]
        array = source.outputs[src.port].array  # an array output's items are indexed like a loop
        loops = source.loops + ([array] if array else [])
        # a connection reads the source at the target's indices; a collector gathers every index of the
        # source's loops that the target does not run in
        free = [loop for loop in loops if loop not in indices] if kind == "collector" else []
        shared = {loop: indices[loop] for loop in loops if loop in indices}
        refs = []
        for free_combo in itertools.product(*[range(self.counts[loop]) for loop in free]):
            at = {**shared, **dict(zip(free, free_combo, strict=True))}
            port = f"{src.port}[{at[array]}]" if array else src.port
            own = {loop: at[loop] for loop in source.loops}
            refs.append(DepRef(kind="artefact", id="/".join(self.job_path(src.node, own) + [port])))
        return refs

    def _outputs(self, name: str, job_id: str, indices: Mapping[str, int]) -> list[OutputSpec]:
        spec = self.bp.producers[name]
        folder = "/".join(p for loop in spec.loops for p in (loop, loop_label(loop, indices[loop])))
        outputs = []
        for out_name, decl in spec.outputs.items():
            prompt = None
            if decl.prompt_file:
                prompt = f"prompts/{folder}/{decl.prompt_file}.txt" if folder else f"prompts/{decl.prompt_file}.txt"
            items = [f"{out_name}[{i}]" for i in range(self.counts[decl.array])] if decl.array else [out_name]
            for item in items:
                outputs.append(
                    OutputSpec(name=item, artefact_id=f"{job_id}/{item}", mime_type=decl.mime_type, prompt_file=prompt)
                )
        return outputs
