"""Cross-reference checks of a parsed blueprint, one small check per section; every problem is collected."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from movie_assets.errors import BlueprintError, CycleError
from movie_assets.pipeline.blueprint.inputs import coerce_value
from movie_assets.pipeline.blueprint.schema import NAME, Blueprint, Connection, ProducerSpec, Ref, parse_ref

_SCALARS = {"string", "int", "float", "bool", "enum"}


@dataclass
class _Findings:
    problems: list[tuple[str, str]] = field(default_factory=list)
    fed: dict[tuple[str, str], str] = field(default_factory=dict)  # (producer, port) -> the yaml path feeding it
    edges: dict[str, set[str]] = field(default_factory=dict)  # producer -> producers it reads from

    def add(self, path: str, message: str) -> None:
        self.problems.append((path, message))


def validate_blueprint(bp: Blueprint, where: str = "blueprint") -> None:
    """Cross-reference checks; raises BlueprintError listing every problem with its YAML path."""
    found = _Findings(edges={name: set() for name in bp.producers})
    _check_loops(bp, found)
    _check_inputs(bp, found)
    _check_producers(bp, found)
    for kind, conns in (("connections", bp.connections), ("collectors", bp.collectors)):
        for i, conn in enumerate(conns):
            _check_connection(bp, kind, f"{kind}[{i}]", conn, found)
    _check_required_ports(bp, found)
    if found.problems:
        raise BlueprintError(found.problems, where)
    cycle = _find_cycle(found.edges)
    if cycle:
        raise CycleError([("producers", "cycle between producers: " + " -> ".join(cycle))], where)


def _check_loops(bp: Blueprint, found: _Findings) -> None:
    for name, loop in bp.loops.items():
        spec = bp.inputs.get(loop.count)
        if spec is None:
            found.add(f"loops.{name}.count", f"loop {name!r} counts by unknown input {loop.count!r}")
        elif spec.type != "int" or spec.loop:
            found.add(f"loops.{name}.count", f"loop count input {loop.count!r} must be a plain int input")


def _check_inputs(bp: Blueprint, found: _Findings) -> None:
    for name, spec in bp.inputs.items():
        path = f"inputs.{name}"
        if not re.fullmatch(NAME, name):
            found.add(path, "input names are identifiers")
        if spec.loop and spec.loop not in bp.loops:
            found.add(f"{path}.loop", f"unknown loop {spec.loop!r}")
        if spec.type == "enum" and not spec.values:
            found.add(f"{path}.values", "an enum input needs values")
        if spec.default is not None:
            try:
                coerce_value(spec, spec.default)
            except ValueError as exc:
                found.add(f"{path}.default", str(exc))


def _check_producers(bp: Blueprint, found: _Findings) -> None:
    for name, producer in bp.producers.items():
        if not re.fullmatch(NAME, name):
            found.add(f"producers.{name}", "producer ids are identifiers")
        for output in producer.outputs:
            if not re.fullmatch(NAME, output):
                found.add(f"producers.{name}.outputs.{output}", "output names are identifiers")
        for i, loop in enumerate(producer.loops):
            if loop not in bp.loops:
                found.add(f"producers.{name}.loops[{i}]", f"unknown loop {loop!r}")
        for output, decl in producer.outputs.items():
            if decl.array is not None and (decl.array not in bp.loops or decl.array in producer.loops):
                found.add(f"producers.{name}.outputs.{output}.array", f"{decl.array!r} is not a loop this job spans")
        _check_recipe(name, producer, found)


def _check_recipe(name: str, producer: ProducerSpec, found: _Findings) -> None:
    """A model choice the producer offers; prompt placeholders its input ports fill."""
    if producer.model_choice is not None and producer.model_choice not in producer.models:
        offered = ", ".join(producer.models) or "none"
        found.add(
            f"producers.{name}.model_choice", f"unknown model choice {producer.model_choice!r}; offered: {offered}"
        )
    if producer.prompt is not None:
        named = set(re.findall(r"{{\s*([A-Za-z_][A-Za-z0-9_]*)\s*}}", producer.prompt.system + producer.prompt.user))
        unknown = sorted((named | set(producer.prompt.variables)) - set(producer.inputs))
        if unknown:
            found.add(f"producers.{name}.prompt", f"placeholders {unknown} are not inputs of {name!r}")


def _check_connection(bp: Blueprint, kind: str, path: str, conn: Connection, found: _Findings) -> None:
    dst = _check_target(bp, kind, path, conn, found)
    if dst is None:
        return
    src = parse_ref(conn.from_)
    if src is None:
        found.add(f"{path}.from", f"{conn.from_!r} is not a valid reference")
        return
    source = _source_of(bp, kind, path, src, found)
    if source is None:
        return
    src_loops, src_type = source
    if src.port is not None:
        found.edges[dst.node].add(src.node)
    target = bp.producers[dst.node]
    port = target.inputs[dst.port or ""]
    own_loops = [loop for loop in src_loops if loop != src.item] if src.item else src_loops
    if src.indices is not None and list(src.indices) != own_loops:
        found.add(f"{path}.from", f"index [{','.join(src.indices)}] does not match loops {own_loops}")
    if not _types_match(src_type, port.type):
        found.add(path, f"type mismatch: {conn.from_!r} is {src_type}, {conn.to!r} expects {port.type}")
    _check_loop_shape(kind, path, conn, src_loops, target.loops, dst.node, found)


def _check_target(bp: Blueprint, kind: str, path: str, conn: Connection, found: _Findings) -> Ref | None:
    """The connection's target if it names an existing producer input; records the port as fed."""
    dst = parse_ref(conn.to)
    if dst is None or dst.port is None or dst.node not in bp.producers:
        found.add(f"{path}.to", f"{conn.to!r} is not a known producer input (producer.input)")
        return None
    target = bp.producers[dst.node]
    if dst.port not in target.inputs:
        found.add(f"{path}.to", f"producer {dst.node!r} has no input {dst.port!r}")
        return None
    if dst.indices is not None and list(dst.indices) != target.loops:
        found.add(f"{path}.to", f"index [{','.join(dst.indices)}] does not match loops {target.loops}")
    if (dst.node, dst.port) in found.fed:
        found.add(f"{path}.to", f"{conn.to!r} is already fed by {found.fed[(dst.node, dst.port)]}")
    found.fed[(dst.node, dst.port)] = path
    is_list = target.inputs[dst.port].list
    if kind == "collectors" and not is_list:
        found.add(f"{path}.to", f"collector target {conn.to!r} must be declared list: true")
    if kind == "connections" and is_list:
        found.add(f"{path}.to", f"list input {conn.to!r} must be fed by a collector")
    return dst


def _source_of(bp: Blueprint, kind: str, path: str, src: Ref, found: _Findings) -> tuple[list[str], str] | None:
    """(loops, type) of a connection's source: an input, or a producer's output; None if unknown."""
    if src.port is None:
        spec = bp.inputs.get(src.node)
        if spec is None:
            found.add(f"{path}.from", f"unknown input {src.node!r}")
            return None
        if kind == "collectors":
            found.add(f"{path}.from", "collectors gather producer outputs, not inputs")
        return ([spec.loop] if spec.loop else []), spec.type
    producer = bp.producers.get(src.node)
    if producer is None:
        found.add(f"{path}.from", f"unknown producer {src.node!r}")
        return None
    if src.port not in producer.outputs:
        found.add(f"{path}.from", f"producer {src.node!r} has no output {src.port!r}")
        return None
    decl = producer.outputs[src.port]
    if src.item is not None and src.item != decl.array:
        found.add(f"{path}.from", f"{src.port!r} is not an array over {src.item!r}")
        return None
    return producer.loops + ([decl.array] if decl.array else []), decl.mime_type


def _check_loop_shape(
    kind: str, path: str, conn: Connection, src_loops: list[str], dst_loops: list[str], dst: str, found: _Findings
) -> None:
    """A connection stays inside its target's loops; a collector gathers loops its target does not run in."""
    if kind == "connections" and not set(src_loops) <= set(dst_loops):
        extra = sorted(set(src_loops) - set(dst_loops))
        found.add(path, f"{conn.from_!r} runs in loops {extra} that {dst!r} does not: use a collector")
    if kind == "collectors" and (not set(dst_loops) <= set(src_loops) or set(src_loops) == set(dst_loops)):
        found.add(path, f"a collector needs a source in more loops than its target ({src_loops} vs {dst_loops})")


def _check_required_ports(bp: Blueprint, found: _Findings) -> None:
    for name, producer in bp.producers.items():
        for port_name, port in producer.inputs.items():
            if not port.optional and (name, port_name) not in found.fed:
                found.add(f"producers.{name}.inputs.{port_name}", "required producer input is not connected")


def _types_match(source: str, port: str) -> bool:
    if port in ("any", source):
        return True
    if source in _SCALARS and port in _SCALARS:
        return (source, port) in {("int", "float"), ("enum", "string")}
    if source in _SCALARS or port in _SCALARS:
        return port == "string" and fnmatch.fnmatch(source, "text/*")
    return fnmatch.fnmatch(source, port)


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
