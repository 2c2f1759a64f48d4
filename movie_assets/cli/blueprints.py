"""`movie-assets blueprints ...`: the shipped blueprints and checking your own."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from movie_assets.cli.common import (
    blueprints_app,
    console,
    handle_errors,
)
from movie_assets.pipeline.blueprint.load import builtin_blueprints, load_blueprint, resolve_blueprint


@blueprints_app.command("list")
@handle_errors
def blueprints_list() -> None:
    """List the shipped blueprints."""
    table = Table("name", "version", "producers", "description")
    for name in builtin_blueprints():
        bp = resolve_blueprint(name)
        table.add_row(name, bp.meta.version, str(len(bp.producers)), bp.meta.description.strip()[:70])
    console.print(table)


@blueprints_app.command("describe")
@handle_errors
def blueprints_describe(name: str) -> None:
    """Show a blueprint's inputs, loops and producers."""
    bp = resolve_blueprint(name)
    console.print(f"[bold]{bp.meta.id}[/bold] v{bp.meta.version}: {bp.meta.name}")
    inputs = Table("input", "type", "loop", "default / required")
    for key, spec in bp.inputs.items():
        inputs.add_row(key, spec.type, spec.loop or "", "required" if spec.required else repr(spec.default))
    console.print(inputs)
    producers = Table("producer", "version", "loops", "inputs", "outputs")
    for key, spec in bp.producers.items():
        producers.add_row(
            key,
            spec.version,
            ",".join(spec.loops),
            ", ".join(spec.inputs),
            ", ".join(f"{o} ({d.mime_type})" for o, d in spec.outputs.items()),
        )
    console.print(producers)


@blueprints_app.command("validate")
@handle_errors
def blueprints_validate(path: Path) -> None:
    """Validate a blueprint YAML file; every problem is listed with its YAML path."""
    bp = load_blueprint(path)
    console.print(f"[green]ok[/green]: {bp.meta.id} v{bp.meta.version}, {len(bp.producers)} producers")
