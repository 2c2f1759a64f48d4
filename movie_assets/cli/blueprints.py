"""`movie-assets blueprints ...`: the shipped blueprints and checking your own."""

from __future__ import annotations

from pathlib import Path

import typer

from movie_assets.cli.common import (
    blueprints_app,
    console,
    esc,
    existing_movie,
    handle_errors,
    new_table,
    settings,
)
from movie_assets.errors import InvalidValue


@blueprints_app.command("list")
@handle_errors
def blueprints_list() -> None:
    """List the shipped blueprints and the ones registered under the storage root."""
    from movie_assets.pipeline.blueprint.load import builtin_blueprints, resolve_blueprint

    table = new_table("name", "source", "version", "producers", "description")
    registered = settings().storage().registered_blueprints()
    for name, source in [*((n, "shipped") for n in builtin_blueprints()), *((n, "registered") for n in registered)]:
        bp = resolve_blueprint(name, registered)
        table.add_row(name, source, esc(bp.meta.version), str(len(bp.producers)), esc(bp.meta.description.strip()[:70]))
    console.print(table)


@blueprints_app.command("describe")
@handle_errors
def blueprints_describe(
    name: str = typer.Argument(..., help="A shipped or registered blueprint name, or a YAML file path."),
) -> None:
    """Show a blueprint's inputs (type, allowed values, default, range), producers and model choices with prices."""
    from movie_assets.pipeline.blueprint.load import resolve_blueprint

    bp = resolve_blueprint(name, settings().storage().registered_blueprints())
    console.print(f"[bold]{bp.meta.id}[/bold] v{esc(bp.meta.version)}: {esc(bp.meta.name)}")
    inputs = new_table("input", "type", "allowed", "default", "about")
    for key, spec in bp.inputs.items():
        inputs.add_row(
            key + (f" [{spec.loop}]" if spec.loop else ""),
            spec.type,
            esc(_allowed(spec)),
            "required" if spec.required else esc(repr(spec.default)),
            esc(spec.description),
        )
    console.print(inputs)
    producers = new_table("producer", "version", "loops", "inputs", "outputs")
    choices = new_table("producer", "model choice", "provider", "model", "USD per job")
    prices = settings().price_table()
    for key, spec in bp.producers.items():
        producers.add_row(
            key,
            esc(spec.version),
            ",".join(spec.loops),
            ", ".join(spec.inputs),
            esc(", ".join(f"{o} ({d.mime_type})" for o, d in spec.outputs.items())),
        )
        picked, _ = spec.choice()
        for choice_id, choice in spec.models.items():
            usd = prices.price(choice.provider, choice.model, choice.implementation or spec.implementation or key)
            mark = " (default)" if choice_id == picked else ""
            choices.add_row(
                key,
                esc(choice_id + mark),
                choice.provider,
                esc(choice.model or "-"),
                "?" if usd is None else f"{usd:g}",
            )
    console.print(producers)
    console.print(choices)
    console.print("Pick a model per movie with [bold]--set PRODUCER.model=CHOICE[/bold] (init, edit).")


def _allowed(spec) -> str:
    if spec.values:
        return " | ".join(spec.values)
    if spec.min is not None or spec.max is not None:
        low = "" if spec.min is None else f"{spec.min:g}"
        high = "" if spec.max is None else f"{spec.max:g}"
        return f"{low}..{high}"
    return ""


@blueprints_app.command("validate")
@handle_errors
def blueprints_validate(path: Path = typer.Argument(..., help="The blueprint YAML file to check.")) -> None:
    """Validate a blueprint YAML file; every problem is listed with its YAML path."""
    from movie_assets.pipeline.blueprint.load import load_blueprint

    bp = load_blueprint(path)
    console.print(f"[green]ok[/green]: {bp.meta.id} v{esc(bp.meta.version)}, {len(bp.producers)} producers")


@blueprints_app.command("register")
@handle_errors
def blueprints_register(
    path: Path = typer.Argument(..., help="The blueprint YAML file to register (validated first)."),
) -> None:
    """Register a blueprint under the storage root: `init -b` finds it and Dagster shows it as an asset group."""
    from movie_assets.pipeline.blueprint.load import load_blueprint

    bp = load_blueprint(path)
    where = settings().storage().register_blueprint(bp.meta.id, bp.to_yaml().encode("utf-8"))
    console.print(f"[green]registered[/green] {bp.meta.id} v{esc(bp.meta.version)} at {esc(where)}")


@blueprints_app.command("apply")
@handle_errors
def blueprints_apply(
    movie: str = typer.Argument(..., help="The movie whose blueprint to replace."),
    path: Path = typer.Argument(..., help="The edited blueprint YAML (its modules and prompt files beside it)."),
) -> None:
    """Give a movie an edited blueprint (a new prompt file, model choice or version); `plan` shows what it dirties."""
    from movie_assets.pipeline.blueprint.load import load_blueprint

    bp = load_blueprint(path)
    store = existing_movie(movie)
    if store.blueprint().meta.id != bp.meta.id:
        raise InvalidValue(f"{movie} is made from {store.blueprint().meta.id!r}, not {bp.meta.id!r}")
    store.set_blueprint(bp)
    console.print(
        f"[green]applied[/green] {bp.meta.id} v{esc(bp.meta.version)} to {movie}; `movie-assets plan {movie}` shows why"
    )
