"""Blueprints: a YAML description of a movie's inputs, loops and producers, expanded into a ProducerGraph.

```yaml
meta: {id: audio-only, name: Audio only, version: "1"}
inputs:
  Title: {type: string, required: true}
  NumOfSegments: {type: int, default: 3, min: 1}
  SegmentText: {type: string, loop: segment, default: ""}
loops:
  segment: {count: NumOfSegments}
producers:
  script:
    version: "1"
    loops: [segment]
    inputs: {title: {type: string}, text: {type: string}}
    outputs: {text: {mime_type: text/plain}}
connections:
  - {from: Title, to: script.title}
  - {from: "SegmentText[segment]", to: "script[segment].text"}
collectors:
  - {from: narration.audio, to: timeline.narrations}
```
A connection's source loops must be a subset of its target's loops (same index); a collector gathers the
source's extra loops into a list, ordered by index.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib.resources
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from movie_assets.core.hashing import json_hash
from movie_assets.core.models import BlueprintRef, DepRef, OutputSpec

ScalarType = Literal["string", "int", "float", "bool", "enum"]
TIMELINE_MIME = "application/vnd.movie-assets.timeline+json"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REF = re.compile(rf"^(?P<node>{_NAME})(?:\[(?P<idx>[A-Za-z_,\s]*)\])?(?:\.(?P<port>{_NAME}))?$")


class BlueprintError(ValueError):
    """A blueprint or its inputs are invalid; `problems` lists (yaml path, message)."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "blueprint") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(f"{path}: {msg}" for path, msg in problems))


class CycleError(BlueprintError):
    """Producers depend on each other in a loop."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Meta(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = ""
    version: str = "1"
    description: str = ""


class InputSpec(_Model):
    type: ScalarType
    required: bool = False
    default: Any = None
    values: list[str] | None = None
    loop: str | None = None
    min: float | None = None
    max: float | None = None
    description: str = ""


class LoopSpec(_Model):
    count: str
    description: str = ""


class PortSpec(_Model):
    type: str = "any"  # a scalar type name, a mime pattern (audio/*), or any
    list: bool = False
    optional: bool = False


class OutputDecl(_Model):
    mime_type: str
    prompt_file: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]*$")


class ProducerSpec(_Model):
    version: str
    loops: list[str] = Field(default_factory=list)
    implementation: str | None = None
    provider: str = "offline"
    model: str | None = None
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, PortSpec] = Field(default_factory=dict)
    outputs: dict[str, OutputDecl]


class Connection(_Model):
    from_: str = Field(alias="from")
    to: str


class Blueprint(_Model):
    meta: Meta
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    loops: dict[str, LoopSpec] = Field(default_factory=dict)
    producers: dict[str, ProducerSpec]
    connections: list[Connection] = Field(default_factory=list)
    collectors: list[Connection] = Field(default_factory=list)

    @property
    def hash(self) -> str:
        return json_hash(self.model_dump(mode="json", by_alias=True))

    @property
    def ref(self) -> BlueprintRef:
        return BlueprintRef(id=self.meta.id, version=self.meta.version, hash=self.hash)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json", by_alias=True, exclude_defaults=True), sort_keys=False)


# ---- loading & validation ------------------------------------------------------------------------


def load_blueprint(source: str | Path, name: str | None = None) -> Blueprint:
    """Parse and validate a blueprint from YAML text or a file path."""
    if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml"))
    ):
        path = Path(source)
        return load_blueprint(path.read_text(encoding="utf-8"), name=str(path))
    where = name or "blueprint"
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise BlueprintError([("<document>", f"not valid YAML: {exc}")], where) from None
    if not isinstance(data, dict):
        raise BlueprintError([("<document>", "a blueprint is a YAML mapping")], where)
    try:
        blueprint = Blueprint.model_validate(data)
    except ValidationError as exc:
        problems = [(".".join(str(p) for p in err["loc"]) or "<document>", err["msg"]) for err in exc.errors()]
        raise BlueprintError(problems, where) from None
    validate_blueprint(blueprint, where)
    return blueprint


def builtin_blueprints() -> list[str]:
    """Names of the blueprints shipped in the package."""
    files = importlib.resources.files("movie_assets.blueprints")
    return sorted(p.name[: -len(".yaml")] for p in files.iterdir() if p.name.endswith(".yaml"))


def load_builtin(name: str) -> Blueprint:
    if name not in builtin_blueprints():
        raise BlueprintError([("<name>", f"no shipped blueprint {name!r}; known: {builtin_blueprints()}")], name)
    text = importlib.resources.files("movie_assets.blueprints").joinpath(f"{name}.yaml").read_text("utf-8")
    return load_blueprint(text, name=f"{name}.yaml")


def resolve_blueprint(name_or_path: str) -> Blueprint:
    """A shipped blueprint by name, or a YAML file by path."""
    if name_or_path in builtin_blueprints():
        return load_builtin(name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        raise BlueprintError([("<name>", f"{name_or_path!r} is neither a shipped blueprint nor a file")], name_or_path)
    return load_blueprint(path)


@dataclass(frozen=True)
class _Ref:
    node: str
    indices: tuple[str, ...] | None
    port: str | None


def _parse_ref(text: str) -> _Ref | None:
    match = _REF.match(text.strip())
    if not match:
        return None
    idx = match.group("idx")
    indices = tuple(i.strip() for i in idx.split(",") if i.strip()) if idx is not None else None
    return _Ref(match.group("node"), indices, match.group("port"))


def _types_match(source: str, port: str) -> bool:
    if port == "any" or source == port:
        return True
    scalar = {"string", "int", "float", "bool", "enum"}
    if source in scalar and port in scalar:
        return (source, port) in {("int", "float"), ("enum", "string")}
    if source in scalar or port in scalar:
        return port == "string" and fnmatch.fnmatch(source, "text/*")
    return fnmatch.fnmatch(source, port)


def validate_blueprint(bp: Blueprint, where: str = "blueprint") -> None:
    """Cross-reference checks; raises BlueprintError listing every problem with its YAML path."""
    problems: list[tuple[str, str]] = []
    for name, loop in bp.loops.items():
        spec = bp.inputs.get(loop.count)
        if spec is None:
            problems.append((f"loops.{name}.count", f"loop {name!r} counts by unknown input {loop.count!r}"))
        elif spec.type != "int" or spec.loop:
            problems.append((f"loops.{name}.count", f"loop count input {loop.count!r} must be a plain int input"))
    for name, spec in bp.inputs.items():
        path = f"inputs.{name}"
        if not re.match(rf"^{_NAME}$", name):
            problems.append((path, "input names are identifiers"))
        if spec.loop and spec.loop not in bp.loops:
            problems.append((f"{path}.loop", f"unknown loop {spec.loop!r}"))
        if spec.type == "enum" and not spec.values:
            problems.append((f"{path}.values", "an enum input needs values"))
        if spec.default is not None:
            try:
                coerce_value(spec, spec.default)
            except ValueError as exc:
                problems.append((f"{path}.default", str(exc)))
    for name, producer in bp.producers.items():
        if not re.match(rf"^{_NAME}$", name):
            problems.append((f"producers.{name}", "producer ids are identifiers"))
        for i, loop in enumerate(producer.loops):
            if loop not in bp.loops:
                problems.append((f"producers.{name}.loops[{i}]", f"unknown loop {loop!r}"))

    fed: dict[tuple[str, str], str] = {}
    edges: dict[str, set[str]] = {name: set() for name in bp.producers}
    for kind, conns in (("connections", bp.connections), ("collectors", bp.collectors)):
        for i, conn in enumerate(conns):
            path = f"{kind}[{i}]"
            src, dst = _parse_ref(conn.from_), _parse_ref(conn.to)
            if dst is None or dst.port is None or dst.node not in bp.producers:
                problems.append((f"{path}.to", f"{conn.to!r} is not a known producer input (producer.input)"))
                continue
            target = bp.producers[dst.node]
            if dst.port not in target.inputs:
                problems.append((f"{path}.to", f"producer {dst.node!r} has no input {dst.port!r}"))
                continue
            if dst.indices is not None and list(dst.indices) != target.loops:
                problems.append((f"{path}.to", f"index [{','.join(dst.indices)}] does not match loops {target.loops}"))
            port = target.inputs[dst.port]
            if (dst.node, dst.port) in fed:
                problems.append((f"{path}.to", f"{conn.to!r} is already fed by {fed[(dst.node, dst.port)]}"))
            fed[(dst.node, dst.port)] = path
            if src is None:
                problems.append((f"{path}.from", f"{conn.from_!r} is not a valid reference"))
                continue
            if kind == "collectors" and not port.list:
                problems.append((f"{path}.to", f"collector target {conn.to!r} must be declared list: true"))
            if kind == "connections" and port.list:
                problems.append((f"{path}.to", f"list input {conn.to!r} must be fed by a collector"))
            if src.port is None:  # an input
                spec = bp.inputs.get(src.node)
                if spec is None:
                    problems.append((f"{path}.from", f"unknown input {src.node!r}"))
                    continue
                if kind == "collectors":
                    problems.append((f"{path}.from", "collectors gather producer outputs, not inputs"))
                src_loops, src_type = ([spec.loop] if spec.loop else []), spec.type
            else:
                producer = bp.producers.get(src.node)
                if producer is None:
                    problems.append((f"{path}.from", f"unknown producer {src.node!r}"))
                    continue
                if src.port not in producer.outputs:
                    problems.append((f"{path}.from", f"producer {src.node!r} has no output {src.port!r}"))
                    continue
                src_loops, src_type = producer.loops, producer.outputs[src.port].mime_type
                edges[dst.node].add(src.node)
            if src.indices is not None and list(src.indices) != src_loops:
                problems.append((f"{path}.from", f"index [{','.join(src.indices)}] does not match loops {src_loops}"))
            if not _types_match(src_type, port.type):
                problems.append((path, f"type mismatch: {conn.from_!r} is {src_type}, {conn.to!r} expects {port.type}"))
            if kind == "connections" and not set(src_loops) <= set(target.loops):
                extra = sorted(set(src_loops) - set(target.loops))
                problems.append(
                    (path, f"{conn.from_!r} runs in loops {extra} that {dst.node!r} does not: use a collector")
                )
            if kind == "collectors" and (
                not set(target.loops) <= set(src_loops) or set(src_loops) == set(target.loops)
            ):
                problems.append(
                    (path, f"a collector needs a source in more loops than its target ({src_loops} vs {target.loops})")
                )
    for name, producer in bp.producers.items():
        for port_name, port in producer.inputs.items():
            if not port.optional and (name, port_name) not in fed:
                problems.append((f"producers.{name}.inputs.{port_name}", "required producer input is not connected"))
    if problems:
        raise BlueprintError(problems, where)
    cycle = _find_cycle(edges)
    if cycle:
        raise CycleError([("producers", "cycle between producers: " + " -> ".join(cycle))], where)


def _find_cycle(edges: Mapping[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


# ---- inputs ----------------------------------------------------------------------------------------

_KEY = re.compile(rf"^(?P<name>{_NAME})(?:\[(?P<index>\d+)\])?$")


def parse_input_key(key: str) -> tuple[str, int | None]:
    match = _KEY.match(key)
    if not match:
        raise ValueError(f"invalid input key {key!r} (expected Name or Name[index])")
    index = match.group("index")
    return match.group("name"), int(index) if index is not None else None


def coerce_value(spec: InputSpec, value: Any) -> Any:
    """Check (and lightly coerce) a value against an input type; ValueError with the reason."""
    if spec.type == "string":
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
    elif spec.type == "enum":
        if value not in (spec.values or []):
            raise ValueError(f"expected one of {spec.values}, got {value!r}")
    elif spec.type == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
    elif spec.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {value!r}")
    elif spec.type == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {value!r}")
        value = float(value)
    if spec.type in ("int", "float"):
        if spec.min is not None and value < spec.min:
            raise ValueError(f"{value!r} is below the minimum {spec.min:g}")
        if spec.max is not None and value > spec.max:
            raise ValueError(f"{value!r} is above the maximum {spec.max:g}")
    return value


def normalise_edits(bp: Blueprint, edits: Mapping[str, Any]) -> dict[str, Any]:
    """Validate edits (by key) against the blueprint; list values of loop inputs expand to Name[i]."""
    out: dict[str, Any] = {}
    problems = []
    for key, value in edits.items():
        try:
            name, index = parse_input_key(key)
        except ValueError as exc:
            problems.append((f"inputs.{key}", str(exc)))
            continue
        spec = bp.inputs.get(name)
        if spec is None:
            problems.append((f"inputs.{key}", f"unknown input {name!r}; known: {sorted(bp.inputs)}"))
            continue
        try:
            if spec.loop and index is None:
                if not isinstance(value, list):
                    raise ValueError(f"{name} runs in loop {spec.loop!r}: give a list or edit {name}[i]")
                for i, item in enumerate(value):
                    out[f"{name}[{i}]"] = coerce_value(spec, item)
            elif not spec.loop and index is not None:
                raise ValueError(f"{name} is not a loop input; it has no index")
            else:
                out[key] = coerce_value(spec, value)
        except ValueError as exc:
            problems.append((f"inputs.{key}", str(exc)))
    if problems:
        raise BlueprintError(problems, "inputs")
    return out


def resolve_inputs(bp: Blueprint, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Expanded input values the graph uses: explicit values, then defaults; missing required is an error."""
    values = normalise_edits(bp, raw)
    resolved: dict[str, Any] = {}
    problems = []
    counts: dict[str, int] = {}
    for name, spec in bp.inputs.items():
        if spec.loop:
            continue
        if name in values:
            resolved[name] = values[name]
        elif spec.default is not None:
            resolved[name] = coerce_value(spec, spec.default)
        elif spec.required:
            problems.append((f"inputs.{name}", "missing required input"))
    for loop_name, loop in bp.loops.items():
        count = resolved.get(loop.count)
        if isinstance(count, int):
            counts[loop_name] = count
    for name, spec in bp.inputs.items():
        if not spec.loop:
            continue
        for i in range(counts.get(spec.loop, 0)):
            key = f"{name}[{i}]"
            if key in values:
                resolved[key] = values[key]
            elif spec.default is not None:
                resolved[key] = coerce_value(spec, spec.default)
            elif spec.required:
                problems.append((f"inputs.{key}", "missing required input"))
    if problems:
        raise BlueprintError(problems, "inputs")
    return resolved


# ---- expansion -------------------------------------------------------------------------------------


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

    @functools.cached_property
    def upstream_jobs(self) -> frozenset[str]:
        """Jobs this one reads from (computed once: a fan-in node has thousands of deps)."""
        return frozenset(d.id.rsplit("/", 1)[0] for refs in self.deps.values() for d in refs if d.kind == "artefact")


@dataclass
class ProducerGraph:
    """Producer jobs after loop expansion, keyed by job id, plus the resolved inputs."""

    blueprint: Blueprint
    inputs: dict[str, Any]
    nodes: dict[str, ProducerNode] = field(default_factory=dict)

    def topological_order(self) -> list[str]:
        """Job ids, dependencies first (Kahn); CycleError naming the nodes left if there is a cycle."""
        layers = kahn_layers({j: n.upstream_jobs for j, n in self.nodes.items()})
        return [j for layer in layers for j in layer]

    def downstream(self, job_ids: set[str]) -> set[str]:
        """The given jobs and everything that depends on them."""
        dependents: dict[str, set[str]] = {j: set() for j in self.nodes}
        for job_id, node in self.nodes.items():
            for up in node.upstream_jobs:
                dependents.setdefault(up, set()).add(job_id)
        out, todo = set(job_ids), list(job_ids)
        while todo:
            for nxt in dependents.get(todo.pop(), ()):
                if nxt not in out:
                    out.add(nxt)
                    todo.append(nxt)
        return out

    def artefact_owner(self, artefact_id: str) -> str:
        return artefact_id.rsplit("/", 1)[0]


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


def blueprint_for_config(bp: Blueprint, inputs: Mapping[str, Any]) -> ProducerGraph:
    """Expand loops into concrete producer jobs (`segment-0000/script`...), one node per instance."""
    resolved = resolve_inputs(bp, inputs)
    counts = {name: resolved[loop.count] for name, loop in bp.loops.items()}
    graph = ProducerGraph(blueprint=bp, inputs=resolved)
    by_target: dict[tuple[str, str], tuple[str, _Ref]] = {}
    for kind, conns in (("connection", bp.connections), ("collector", bp.collectors)):
        for conn in conns:
            dst = _parse_ref(conn.to)
            src = _parse_ref(conn.from_)
            assert dst and src and dst.port
            by_target[(dst.node, dst.port)] = (kind, src)

    def job_path(producer: str, indices: Mapping[str, int]) -> list[str]:
        spec = bp.producers[producer]
        return [loop_label(loop, indices[loop]) for loop in spec.loops] + [producer]

    for name, spec in bp.producers.items():
        ranges = [range(counts[loop]) for loop in spec.loops]
        for combo in itertools.product(*ranges):
            indices = dict(zip(spec.loops, combo, strict=True))
            path = job_path(name, indices)
            job_id = "/".join(path)
            deps: dict[str, list[DepRef]] = {}
            collected: list[str] = []
            for port in spec.inputs:
                if (name, port) not in by_target:
                    continue
                kind, src = by_target[(name, port)]
                if src.port is None:
                    input_spec = bp.inputs[src.node]
                    key = f"{src.node}[{indices[input_spec.loop]}]" if input_spec.loop else src.node
                    if key in resolved:
                        deps[port] = [DepRef(kind="input", id=key)]
                    continue
                source = bp.producers[src.node]
                if kind == "connection":
                    src_indices = {loop: indices[loop] for loop in source.loops}
                    deps[port] = [DepRef(kind="artefact", id="/".join(job_path(src.node, src_indices) + [src.port]))]
                else:
                    collected.append(port)
                    free = [loop for loop in source.loops if loop not in indices]
                    refs = []
                    for free_combo in itertools.product(*[range(counts[loop]) for loop in free]):
                        src_indices = {**{loop: indices[loop] for loop in source.loops if loop in indices}}
                        src_indices.update(zip(free, free_combo, strict=True))
                        refs.append(DepRef(kind="artefact", id="/".join(job_path(src.node, src_indices) + [src.port])))
                    deps[port] = refs
            outputs = []
            for out_name, decl in spec.outputs.items():
                prompt = None
                if decl.prompt_file:
                    folder = "/".join([p for loop in spec.loops for p in (loop, loop_label(loop, indices[loop]))])
                    prompt = f"prompts/{folder}/{decl.prompt_file}.txt" if folder else f"prompts/{decl.prompt_file}.txt"
                outputs.append(
                    OutputSpec(
                        name=out_name, artefact_id=f"{job_id}/{out_name}", mime_type=decl.mime_type, prompt_file=prompt
                    )
                )
            graph.nodes[job_id] = ProducerNode(
                job_id=job_id,
                path=path,
                producer=name,
                version=spec.version,
                implementation=spec.implementation or name,
                provider=spec.provider,
                model=spec.model,
                indices=indices,
                params=dict(spec.params),
                deps=deps,
                collected=collected,
                outputs=outputs,
            )
    graph.topological_order()  # a cycle in the expanded graph is an error here, never later
    return graph
