"""The house rules of the code: layers import downwards only, the core never imports a face, no circles."""

from __future__ import annotations

import ast
from pathlib import Path

import movie_assets

PACKAGE = Path(movie_assets.__file__).parent
# a layer may import from its own layer and the ones before it
LAYERS = ["errors", "store", "pipeline", "lifecycle", "movie"]
FACES = ("dagster", "typer", "rich", "starlette", "uvicorn", "mcp")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from package import module` is an edge to that module too (names that are not modules match nothing)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "movie_assets" and parts[1] in LAYERS else None


def test_store_pipeline_and_lifecycle_never_import_a_face():
    offenders = [
        f"{name} imports {imported}"
        for name, path in _modules().items()
        if _layer(name) in ("errors", "store", "pipeline", "lifecycle", "movie")
        for imported in _imports(path)
        if imported.split(".")[0] in FACES
    ]
    assert offenders == []


def test_layers_import_only_downwards():
    offenders = []
    for name, path in _modules().items():
        mine = _layer(name)
        for imported in _imports(path):
            theirs = _layer(imported)
            if mine and theirs and LAYERS.index(theirs) > LAYERS.index(mine):
                offenders.append(f"{name} -> {imported}")
    assert offenders == []


def test_no_module_imports_itself_through_a_circle():
    modules = _modules()
    graph = {name: {i for i in _imports(path) if i in modules and i != name} for name, path in modules.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep) :] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_module_is_much_over_400_lines():
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > 420}
    assert long == {}
