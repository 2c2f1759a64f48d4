"""`movie-assets list | logs | adopt`: the movies of a root, what a run did, and edits made to readable copies."""

from __future__ import annotations

from pathlib import Path

import typer

from movie_assets.cli.common import (
    app,
    console,
    esc,
    existing_movie,
    handle_errors,
    new_table,
    settings,
    storage,
    write_bytes,
)
from movie_assets.errors import InvalidValue, NotFound


@app.command("list")
@handle_errors
def list_movies() -> None:
    """List the movies of the storage root: blueprint, live revision, pending edits and cost so far."""
    from movie_assets.lifecycle.history import movie_row

    table = new_table("movie", "blueprint", "live", "pending edits", "cost so far (USD)")
    movies = storage().list_movies()
    for movie in movies:
        row = movie_row(settings().movie_store(movie))
        if row.problem:
            table.add_row(esc(movie), "?", "?", "?", f"[red]{esc(row.problem)}[/red]")
        else:
            table.add_row(esc(movie), esc(row.blueprint), row.revision, str(row.pending), f"{row.cost:.4f}")
    console.print(table)
    console.print(f"{len(movies)} movie(s) under {esc(storage().root)}")


@app.command()
@handle_errors
def logs(
    movie: str = typer.Argument(..., help="The movie."),
    revision: str = typer.Option(None, "--revision", "-r", help="The run's revision, e.g. rev-0002 (default: newest)."),
) -> None:
    """Print the human-readable log of a run: its plan, each job's provider, model, time, cost and failure."""
    from movie_assets.pipeline.runlog import log_path, logged_revisions
    from movie_assets.store.models import RevisionId

    store = existing_movie(movie)
    if revision is None:
        found = logged_revisions(store.fs)
        if not found:
            raise InvalidValue(f"{movie} has no run log yet: `movie-assets regenerate {movie}` writes one")
        revision = found[-1]
    try:
        text = store.fs.read(log_path(str(RevisionId.parse(revision))))
    except NotFound:
        raise InvalidValue(f"{movie} has no log for {revision}") from None
    write_bytes(text)


@app.command()
@handle_errors
def adopt(
    movie: str = typer.Argument(..., help="The movie whose edited readable copies to adopt."),
    paths: list[Path] = typer.Argument(None, help="Readable copies to adopt (default: every edited one)."),
) -> None:
    """Turn edits made to readable copies (prompts/…, artifacts/text/…) into overrides: pinned, versioned."""
    from movie_assets.lifecycle.housekeeping import edited_readable_copies

    store = existing_movie(movie)
    edited = dict(edited_readable_copies(store))
    wanted = [_relative(store, p) for p in paths or []] or sorted(edited)
    unknown = [p for p in wanted if p not in edited]
    if unknown:
        raise InvalidValue(f"not an edited readable copy of {movie}: {', '.join(unknown)}")
    if not wanted:
        console.print(f"{movie}: no readable copy was edited")
        return
    for path in wanted:
        store.override(edited[path], store.fs.read(path), edited_by="adopt")
        console.print(f"adopted {esc(path)} as an override of {esc(edited[path])}")
    console.print(f"`movie-assets plan {movie}` shows what they make dirty")


def _relative(store, path: Path) -> str:
    """A copy's path inside the movie, given as the user typed it (absolute, or relative to the movie)."""
    text = str(path)
    root = store.fs.root.rstrip("/") + "/"
    return text[len(root) :] if text.startswith(root) else text


def print_edited(movie: str, edited: list[tuple[str, str]]) -> None:
    """Name the readable copies edited by hand (`edited_readable_copies`): not inputs until adopted."""
    if edited:
        names = ", ".join(path for path, _ in edited)
        console.print(
            f"[yellow]edited readable copies[/yellow] (not inputs): {esc(names)}; "
            f"`movie-assets adopt {movie}` makes them overrides"
        )
