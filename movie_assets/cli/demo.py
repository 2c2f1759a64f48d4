"""`movie-assets providers` and `movie-assets demo`."""

from __future__ import annotations

import os

import typer

from movie_assets.cli.common import (
    app,
    console,
    esc,
    handle_errors,
    movie_store,
    new_table,
    settings,
)
from movie_assets.cli.movies import _regenerate
from movie_assets.errors import InvalidValue

DEMO_INPUTS = {
    "InquiryPrompt": "A lighthouse keeper who collects lost radio signals and one night hears a voice",
    "Title": "The Lighthouse Keeper",
    "Topic": "a lighthouse keeper who collects lost radio signals",
    "NumOfSegments": 3,
    "SegmentText": [
        "Every night the keeper climbs the stairs and listens to the sea.",
        "One storm brings a voice that nobody else can hear.",
        "At dawn she answers, and the lighthouse answers with her.",
    ],
}


def demo_inputs(bp) -> dict:
    """The demo's inputs that this blueprint takes; a blueprint that writes its own story gets the prompt."""
    keys = [k for k in DEMO_INPUTS if k in bp.inputs]
    if "InquiryPrompt" in keys:
        keys.remove("SegmentText")
    return {k: DEMO_INPUTS[k] for k in keys}


@app.command()
@handle_errors
def providers(
    check: bool = typer.Option(False, "--check", help="Prove each configured provider's credentials (a free call)."),
) -> None:
    """Producer providers: what each offers and whether its credentials are set (and, with --check, valid)."""
    from movie_assets.producers.offline import OFFLINE_PRODUCERS
    from movie_assets.producers.providers import check_provider, credentials_from, discover_providers

    found = discover_providers()
    configured = credentials_from(os.environ, found)
    models = _shipped_models()
    table = new_table("provider", "serves", "models (choice: model)", "credentials", "status")
    offline = ", ".join(OFFLINE_PRODUCERS)
    table.add_row("offline", offline, esc(models.get("offline", "")), "none", "[green]ready[/green]")
    failed = []
    for name, provider in sorted(found.items()):
        status = "[green]ready[/green]" if name in configured else "[yellow]not configured[/yellow]"
        if check and name in configured:
            ok, said = check_provider(provider, configured[name])
            status = f"[green]valid[/green]: {esc(said)}" if ok else f"[red]refused[/red]: {esc(said)}"
            failed += [] if ok else [name]
        credentials = ", ".join(provider.credentials) or "none"
        table.add_row(name, esc(provider.description), esc(models.get(name, "")), credentials, status)
    console.print(table)
    if failed:
        raise InvalidValue(f"credentials refused: {', '.join(failed)}")


def _shipped_models() -> dict[str, str]:
    """Per provider, the model choices the shipped blueprints offer (`--set PRODUCER.model=CHOICE`)."""
    from movie_assets.pipeline.blueprint.load import builtin_blueprints, load_builtin

    offered: dict[str, dict[str, str]] = {}
    for name in builtin_blueprints():
        for producer, spec in load_builtin(name).producers.items():
            for choice_id, choice in spec.models.items():
                said = f"{producer}.{choice_id}" + (f": {choice.model}" if choice.model else "")
                offered.setdefault(choice.provider, {})[said] = said
    return {provider: "; ".join(sorted(found)) for provider, found in offered.items()}


@app.command()
@handle_errors
def demo(
    movie: str = typer.Option("demo", "--movie", help="Id of the demo movie."),
    blueprint: str = typer.Option("video-audio-music", "--blueprint", "-b", help="Blueprint of a new demo movie."),
    concurrency: int = typer.Option(2, "--concurrency", "-c", min=1, help="Jobs run at once within a layer."),
    offline: bool = typer.Option(
        False, "--offline", help="Run every job with the offline producers: no network, nothing spent."
    ),
) -> None:
    """Create (if needed) and regenerate a demo movie, then export its final cut."""
    from movie_assets.lifecycle.exports import final_artefact, write_final_cut
    from movie_assets.pipeline.blueprint.load import resolve_blueprint

    store = movie_store(movie)
    if not store.exists():
        bp = resolve_blueprint(blueprint, settings().storage().registered_blueprints())
        store.init(bp, demo_inputs(bp))
        console.print(f"created demo movie [bold]{movie}[/bold] under {esc(store.storage.root)}")
    _regenerate(store, concurrency, offline)
    manifest, _ = store.current()
    found = final_artefact(manifest)
    if found is None:
        raise InvalidValue(f"{movie}: no export artefact in {manifest.revision}")
    entry = found[1]
    rel = store.final_cut(manifest) or write_final_cut(store.fs, store.blobs, manifest)  # written by the commit
    assert rel is not None
    where = store.fs.resolve(rel)
    console.print(f"[bold green]final cut[/bold green] ({manifest.revision}, {entry.blob.size} bytes): {esc(where)}")
    if store.storage.config.driver == "local":
        console.print(
            f"timeline: {len(manifest.timeline.tracks) if manifest.timeline else 0} tracks; "
            f"inspect with `movie-assets show {movie}` or `dagster dev` ({esc(os.getcwd())})"
        )
