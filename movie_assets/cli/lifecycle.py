"""Keeping a movie: gc, history, diff, rollback, verify, migrate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from movie_assets.cli.common import (
    app,
    console,
    err,
    esc,
    existing_movie,
    handle_errors,
    labelled,
    movie_store,
    new_table,
    parse_duration,
)
from movie_assets.cli.movies import _regenerate

if TYPE_CHECKING:  # imported where used: `--help` must not load the whole store
    from movie_assets.movie import MovieStore


@app.command()
@handle_errors
def gc(
    movie: str = typer.Argument(..., help="The movie whose unreferenced blobs to collect."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be freed; delete nothing."),
    grace: str = typer.Option("1h", "--grace", help="Keep anything younger than this (runs in flight)."),
) -> None:
    """Sweep blobs, prompt files and write debris that no revision or unfinished run references."""
    report = existing_movie(movie).collect_garbage(parse_duration(grace), dry_run)
    verb = "would free" if dry_run else "freed"
    console.print(
        f"{movie}: {verb} {report.files_freed} files, {report.bytes_freed} bytes "
        f"({report.marked_blobs} blobs referenced, {report.kept_young} unreferenced but younger than {grace})"
    )


@app.command()
@handle_errors
def history(movie: str = typer.Argument(..., help="The movie.")) -> None:
    """Every revision, oldest first, with its metrics."""
    from movie_assets.lifecycle.metrics import load_metrics

    store = existing_movie(movie)
    table = new_table("revision", "parent", "created", "artefacts", "jobs run", "retries", "cost", "seconds", "")
    for item in store.history():
        m = load_metrics(store.fs, item.revision)
        table.add_row(
            item.revision,
            item.parent or "-",
            item.created_at,
            str(item.artefacts),
            str(m.attempts - m.retries) if m else "-",
            str(m.retries) if m else "-",
            f"{m.cost:.4f}" if m else "-",
            f"{m.duration_s:.2f}" if m else "-",
            "live" if item.live else ("" if item.published else "unpublished (crashed commit)"),
        )
    console.print(table)


@app.command()
@handle_errors
def diff(
    movie: str = typer.Argument(..., help="The movie."),
    rev_a: str = typer.Argument(..., help="The older revision, e.g. rev-0001."),
    rev_b: str = typer.Argument(..., help="The newer revision, e.g. rev-0002."),
) -> None:
    """Artefacts added / removed / changed and inputs changed between two revisions."""
    result = existing_movie(movie).diff(rev_a, rev_b)
    if result.empty:
        console.print(f"{rev_a} and {rev_b} have the same content")
        return
    for key, (old, new) in result.inputs_changed.items():
        console.print(f"[yellow]~ input[/yellow] {esc(key)}: {esc(repr(old))} -> {esc(repr(new))}", highlight=False)
    for name, marker, colour in (("added", "+", "green"), ("removed", "-", "red"), ("changed", "~", "yellow")):
        for artefact in getattr(result, name):
            console.print(f"[{colour}]{marker} {artefact}[/{colour}]", highlight=False)


@app.command()
@handle_errors
def rollback(
    movie: str = typer.Argument(..., help="The movie."),
    revision: str = typer.Argument(..., help="The revision to make live again (published as a new revision)."),
) -> None:
    """Publish a new revision with the content of REVISION (history is never rewritten)."""
    pointer = existing_movie(movie).rollback(revision)
    console.print(f"{movie}: {pointer.revision} published with the content of {revision}")


@app.command()
@handle_errors
def verify(
    movie: str = typer.Argument(..., help="The movie to check."),
    repair: bool = typer.Option(
        False, "--repair", help="Quarantine bad log lines and corrupt blobs, then regenerate what they took."
    ),
    offline: bool = typer.Option(
        False, "--offline", help="With --repair: remake what needs remaking with the offline producers."
    ),
) -> None:
    """Check every manifest, every referenced blob (re-hashed), current.json and the logs."""
    store = existing_movie(movie)
    if repair:
        _repair(store, offline)
    report = store.verify()
    if not report.ok:
        for problem in report.problems:
            err.print(labelled("problem: ", "red", problem), highlight=False)
        err.print(f"{movie}: {len(report.problems)} problem(s)")
        raise typer.Exit(1)
    console.print(f"{movie}: ok ({report.revisions} manifests, {report.blobs_checked} blobs verified)")


def _repair(store: MovieStore, offline: bool) -> None:
    from movie_assets.lifecycle.repair import QUARANTINE

    done = store.repair()
    if done.restored:
        console.print(labelled("restored: ", "yellow", done.restored), highlight=False)
    for line in done.quarantined_lines:
        console.print(labelled("quarantined line ", "yellow", line), highlight=False)
    for blob_hash in done.quarantined_blobs:
        console.print(labelled(f"quarantined corrupt blob {blob_hash} -> {QUARANTINE}/", "yellow"))
    for blob_hash in done.missing_old:
        err.print(labelled(f"cannot remake blob {blob_hash}: only older revisions name it", "red"))
    if done.needs_regenerate:
        console.print(f"{store.movie_id}: remaking {len(done.missing_live)} blob(s) of the live revision")
        _regenerate(store, concurrency=2, offline=offline)


@app.command()
@handle_errors
def migrate(
    legacy_dir: Path = typer.Argument(..., help="The legacy movie folder to import."),
    movie: str = typer.Argument(..., help="Id of the movie to create from it."),
) -> None:
    """Import a legacy movie (one folder per revision) as blobs and manifests; safe to re-run."""
    report = movie_store(movie).migrate(legacy_dir)
    for line in report.warnings:
        err.print(labelled("warning: ", "yellow", line), highlight=False)
    for line in report.created:
        console.print(f"[green]created[/green] {esc(line)}")
    for line in report.skipped:
        console.print(f"[dim]unchanged[/dim] {esc(line)}")
    console.print(f"{movie}: {len(report.created)} revisions created, {report.blobs_stored} blobs stored")


@app.command()
@handle_errors
def delete(
    movie: str = typer.Argument(..., help="The movie to delete, with every revision and blob."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a movie and its whole history from the store (asks first)."""
    store = existing_movie(movie)
    files = store.fs.scan("", hidden=True)
    summary = (
        f"{movie}: {len(store.manifests.history())} revisions, {len(files)} files, {sum(f.size for f in files):,} bytes"
    )
    if not yes and not typer.confirm(f"delete {summary}?", default=False):
        err.print("nothing deleted")
        raise typer.Exit(1)
    store.delete()
    console.print(f"deleted {summary}")
