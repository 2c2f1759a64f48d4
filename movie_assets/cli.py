"""`movie-assets`: the command line (Typer + Rich)."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from movie_assets.core.blobs import BlobIntegrityError
from movie_assets.core.blueprint import BlueprintError, builtin_blueprints, load_blueprint, resolve_blueprint
from movie_assets.core.gc import GarbageCollector
from movie_assets.core.history import diff as diff_revisions
from movie_assets.core.history import history as history_of
from movie_assets.core.history import rollback as rollback_to
from movie_assets.core.history import verify as verify_movie
from movie_assets.core.manifests import ManifestConflict
from movie_assets.core.metrics import load_metrics
from movie_assets.core.migrate import Migrator
from movie_assets.core.models import ExecutionPlan, InvalidDocument, JobResult, RevisionId
from movie_assets.core.movie import MovieStore, UnknownMovie
from movie_assets.core.readable import refresh_readable
from movie_assets.core.storage import StorageConfig, StorageContext, StorageError

app = typer.Typer(help="Store and regenerate AI-made movies on a content-addressed store.", no_args_is_help=True)
blueprints_app = typer.Typer(help="Shipped and custom blueprints.", no_args_is_help=True)
app.add_typer(blueprints_app, name="blueprints")
# piped output is not cut to 80 columns: tables stay readable in logs and CI
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

DEMO_INPUTS = {
    "Title": "The Lighthouse Keeper",
    "Topic": "a lighthouse keeper who collects lost radio signals",
    "NumOfSegments": 3,
    "SegmentText": [
        "Every night the keeper climbs the stairs and listens to the sea.",
        "One storm brings a voice that nobody else can hear.",
        "At dawn she answers, and the lighthouse answers with her.",
    ],
}

_state: dict[str, Any] = {"root": None}


@app.callback()
def main(
    root: str = typer.Option(
        None, "--root", envvar="MOVIE_ASSETS_ROOT", help="Storage root: a path, file://, memory:// or s3:// URL."
    ),
) -> None:
    _state["root"] = root or "builds"


def storage() -> StorageContext:
    return StorageContext(StorageConfig.from_url(_state["root"] or "builds"))


def handle_errors(fn):
    """Known failures become one red line and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (BlueprintError, StorageError, InvalidDocument, ManifestConflict, BlobIntegrityError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None

    return wrapper


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE pairs; values are read as YAML scalars/lists (3 -> int, [a, b] -> list, text -> str)."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"expected KEY=VALUE, got {pair!r}")
        key, raw = pair.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out[key.strip()] = raw if value is None else value
    return out


# ---- blueprints --------------------------------------------------------------------------------------


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


# ---- movies ------------------------------------------------------------------------------------------


@app.command()
@handle_errors
def init(
    movie: str,
    blueprint: str = typer.Option(..., "--blueprint", "-b", help="Shipped blueprint name or YAML file."),
    inputs: Path = typer.Option(None, "--inputs", "-i", help="YAML file of input values."),
    set_: list[str] = typer.Option([], "--set", help="KEY=VALUE overrides."),
) -> None:
    """Create a movie from a blueprint and its initial inputs."""
    values = yaml.safe_load(inputs.read_text()) if inputs else {}
    if values is not None and not isinstance(values, dict):
        raise ValueError(f"{inputs}: expected a mapping of input names to values")
    values = {**(values or {}), **parse_assignments(set_)}
    events = MovieStore(storage(), movie).init(resolve_blueprint(blueprint), values)
    console.print(f"created movie [bold]{movie}[/bold] ({len(events)} input events)")


@app.command()
@handle_errors
def edit(movie: str, assignments: list[str]) -> None:
    """Append input edits: KEY=VALUE (loop inputs as Name[i]=VALUE)."""
    events = MovieStore(storage(), movie).edit(parse_assignments(assignments))
    for event in events:
        console.print(f"#{event.id} {event.key} = {event.value!r}")


def print_plan(plan: ExecutionPlan) -> None:
    console.print(
        f"[bold]{plan.movie_id}[/bold] {plan.base_revision} -> {plan.revision}: {len(plan.jobs)} jobs in "
        f"{len(plan.layers)} layers, {len(plan.carried)} carried, {len(plan.reused)} reused from the log"
    )
    if plan.changed_inputs:
        console.print("changed inputs: " + ", ".join(plan.changed_inputs))
    table = Table("layer", "job", "direct", "why dirty")
    for number, layer in enumerate(plan.layers, start=1):
        for job in layer:
            table.add_row(str(number), job.job_id, "yes" if job.direct else "", "; ".join(job.reasons))
    if plan.layers:
        console.print(table)


@app.command()
@handle_errors
def plan(movie: str) -> None:
    """Show what the next regenerate would run and why; writes nothing."""
    print_plan(MovieStore(storage(), movie).plan())


@app.command()
@handle_errors
def regenerate(
    movie: str,
    concurrency: int = typer.Option(2, "--concurrency", "-c", min=1),
    offline: bool = typer.Option(False, "--offline", help="Run jobs of unconfigured providers offline."),
) -> None:
    """Plan, run the dirty producers and commit the next revision."""
    store = MovieStore(storage(), movie)
    _regenerate(store, concurrency, offline)


def _regenerate(store: MovieStore, concurrency: int, offline: bool = False):
    from movie_assets.producers.registry import describe_missing, registry_from_environ

    registry = registry_from_environ(os.environ, offline)  # the CLI is where credentials are read
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("planning", total=None)

        def on_plan(plan: ExecutionPlan) -> None:
            # refuse before running anything when a job's provider is not configured
            problems = registry.missing(plan.jobs)
            if problems:
                raise ValueError("cannot run this plan, nothing was run:\n  " + "\n  ".join(describe_missing(problems)))
            progress.update(task, description=f"{plan.revision}", total=len(plan.jobs))

        def on_result(result: JobResult) -> None:
            progress.advance(task)
            progress.update(task, description=f"{result.job_id} [{result.status}]")

        outcome = store.regenerate(registry, concurrency, on_result=on_result, on_plan=on_plan)
    if outcome.run is None:
        console.print(f"{store.movie_id}: up to date at {outcome.plan.base_revision}; nothing to do")
    elif outcome.committed:
        run = outcome.run
        console.print(
            f"[green]committed {outcome.pointer.revision}[/green]: {len(run.produced)} produced, "
            f"{len(run.results) - len(run.produced)} reused, cost ${sum(r.cost for r in run.results.values()):.4f}"
        )
    else:
        for job_id, result in outcome.run.results.items():
            if result.status in ("failed", "skipped"):
                err.print(f"[red]{result.status}[/red] {job_id}: {result.error}")
        err.print(f"[red]run failed[/red]; {outcome.plan.base_revision} stays live (rerun reuses what succeeded)")
        raise typer.Exit(1)
    return outcome


@app.command()
@handle_errors
def status(movie: str) -> None:
    """Live revision, pending edits and what a regenerate would do."""
    store = MovieStore(storage(), movie)
    manifest, digest = store.current()
    plan = store.plan()
    console.print(f"[bold]{movie}[/bold] live: {manifest.revision} ({digest or 'never committed'})")
    console.print(f"blueprint: {store.blueprint().meta.id}; artefacts: {len(manifest.artefacts)}")
    console.print(f"pending input changes: {', '.join(plan.changed_inputs) or 'none'}; dirty jobs: {len(plan.jobs)}")
    metrics = load_metrics(store.storage, movie, manifest.revision) if digest else None
    if metrics:
        console.print(
            f"{manifest.revision} took {metrics.attempts} producer runs ({metrics.retries} retries, "
            f"{metrics.reused} reused), cost {metrics.cost:.4f}, {metrics.duration_s:.2f}s of producer time"
        )
        table = Table("producer", "runs", "failed", "cost", "seconds")
        for name, pm in sorted(metrics.producers.items()):
            table.add_row(name, str(pm.attempts), str(pm.failed), f"{pm.cost:.4f}", f"{pm.duration_s:.2f}")
        console.print(table)


@app.command()
@handle_errors
def show(movie: str, revision: str = typer.Option(None, "--revision", "-r")) -> None:
    """Print a revision's inputs and artefacts."""
    store = MovieStore(storage(), movie)
    manifest = store.manifests.load(RevisionId(revision)) if revision else store.current()[0]
    console.print(f"[bold]{movie}[/bold] {manifest.revision} (parent {manifest.parent}) {manifest.created_at}")
    inputs = Table("input", "value")
    for key, entry in manifest.inputs.items():
        inputs.add_row(key, repr(entry.value)[:80])
    console.print(inputs)
    artefacts = Table("artefact", "mime", "size", "blob")
    for key, entry in manifest.artefacts.items():
        artefacts.add_row(key, entry.blob.mime_type, str(entry.blob.size), entry.blob.hash[:12])
    console.print(artefacts)


@app.command()
@handle_errors
def export(
    movie: str,
    artefact: str,
    output: Path = typer.Option(..., "--output", "-o"),
    revision: str = typer.Option(None, "--revision", "-r"),
) -> None:
    """Write one artefact of a revision to a file (hash-verified)."""
    store = MovieStore(storage(), movie)
    manifest = store.manifests.load(RevisionId(revision)) if revision else store.current()[0]
    if artefact not in manifest.artefacts:
        raise ValueError(f"{manifest.revision} has no artefact {artefact!r}; see `movie-assets show {movie}`")
    with open(output, "wb") as handle:
        for chunk in store.blobs.open(manifest.artefacts[artefact].blob):
            handle.write(chunk)
    console.print(f"wrote {output} ({manifest.artefacts[artefact].blob.size} bytes)")


def existing_movie(movie: str) -> MovieStore:
    """A store for a movie that exists (made by init, or migrated: manifests without a blueprint)."""
    store = MovieStore(storage(), movie)
    if not store.exists() and not store.storage.exists(movie, "current.json"):
        raise UnknownMovie(f"no movie {movie!r} under {store.storage.root}")
    return store


def parse_duration(text: str) -> float:
    """`90`, `90s`, `15m`, `1h`, `2d` → seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    raw = text.strip().lower()
    try:
        if raw and raw[-1] in units:
            return float(raw[:-1]) * units[raw[-1]]
        return float(raw)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 1h, 2d)") from None


@app.command()
@handle_errors
def gc(
    movie: str,
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be freed; delete nothing."),
    grace: str = typer.Option("1h", "--grace", help="Keep anything younger than this (runs in flight)."),
) -> None:
    """Sweep blobs, prompt files and write debris that no revision or unfinished run references."""
    store = existing_movie(movie)
    report = GarbageCollector(store.storage, movie, store.events).collect(parse_duration(grace), dry_run)
    verb = "would free" if dry_run else "freed"
    console.print(
        f"{movie}: {verb} {report.files_freed} files, {report.bytes_freed} bytes "
        f"({report.marked_blobs} blobs referenced, {report.kept_young} unreferenced but younger than {grace})"
    )


@app.command()
@handle_errors
def history(movie: str) -> None:
    """Every revision, oldest first, with its metrics."""
    store = existing_movie(movie)
    table = Table("revision", "parent", "created", "artefacts", "jobs run", "retries", "cost", "seconds", "")
    for item in history_of(store.storage, movie):
        m = load_metrics(store.storage, movie, item.revision)
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
def diff(movie: str, rev_a: str, rev_b: str) -> None:
    """Artefacts added / removed / changed and inputs changed between two revisions."""
    result = diff_revisions(storage(), movie, rev_a, rev_b)
    if result.empty:
        console.print(f"{rev_a} and {rev_b} have the same content")
        return
    for key, (old, new) in result.inputs_changed.items():
        console.print(f"[yellow]~ input[/yellow] {key}: {old!r} -> {new!r}", highlight=False)
    for name, marker, colour in (("added", "+", "green"), ("removed", "-", "red"), ("changed", "~", "yellow")):
        for artefact in getattr(result, name):
            console.print(f"[{colour}]{marker} {artefact}[/{colour}]", highlight=False)


@app.command()
@handle_errors
def rollback(movie: str, revision: str) -> None:
    """Publish a new revision with the content of REVISION (history is never rewritten)."""
    context = storage()
    pointer = rollback_to(context, movie, revision)
    store = MovieStore(context, movie)
    refresh_readable(context, movie, store.blueprint(), store.manifests.load(pointer.revision))
    console.print(f"{movie}: {pointer.revision} published with the content of {revision}")


@app.command()
@handle_errors
def verify(movie: str) -> None:
    """Check every manifest, every referenced blob (re-hashed), current.json and the logs."""
    report = verify_movie(storage(), movie)
    if not report.ok:
        for problem in report.problems:
            err.print(f"[red]problem:[/red] {problem}", highlight=False)
        err.print(f"{movie}: {len(report.problems)} problem(s)")
        raise typer.Exit(1)
    console.print(f"{movie}: ok ({report.revisions} manifests, {report.blobs_checked} blobs verified)")


@app.command()
@handle_errors
def migrate(legacy_dir: Path, movie: str) -> None:
    """Import a legacy movie (one folder per revision) as blobs and manifests; safe to re-run."""
    report = Migrator(storage(), movie).migrate(legacy_dir)
    for line in report.created:
        console.print(f"[green]created[/green] {line}")
    for line in report.skipped:
        console.print(f"[dim]unchanged[/dim] {line}")
    console.print(f"{movie}: {len(report.created)} revisions created, {report.blobs_stored} blobs stored")


@app.command()
@handle_errors
def providers() -> None:
    """Producer providers: what each offers and whether its credentials are set."""
    from movie_assets.producers.offline import OFFLINE_PRODUCERS
    from movie_assets.producers.providers import credentials_from, discover_providers

    found = discover_providers()
    configured = credentials_from(os.environ, found)
    table = Table("provider", "producers", "credentials", "status")
    table.add_row("offline", ", ".join(OFFLINE_PRODUCERS), "none", "[green]ready[/green]")
    for name, provider in sorted(found.items()):
        status = "[green]ready[/green]" if name in configured else "[yellow]not configured[/yellow]"
        table.add_row(name, provider.description, ", ".join(provider.credentials) or "none", status)
    console.print(table)


@app.command()
@handle_errors
def demo(
    movie: str = typer.Option("demo", "--movie"),
    blueprint: str = typer.Option("video-audio-music", "--blueprint", "-b"),
    concurrency: int = typer.Option(2, "--concurrency", "-c", min=1),
    offline: bool = typer.Option(False, "--offline", help="Run jobs of unconfigured providers offline."),
) -> None:
    """Create (if needed) and regenerate a demo movie, then export its final cut."""
    store = MovieStore(storage(), movie)
    if not store.exists():
        store.init(resolve_blueprint(blueprint), DEMO_INPUTS)
        console.print(f"created demo movie [bold]{movie}[/bold] under {store.storage.root}")
    _regenerate(store, concurrency, offline)
    manifest, _ = store.current()
    final = [a for a, e in manifest.artefacts.items() if a.startswith("export/")]
    if not final:
        raise ValueError(f"{movie}: no export artefact in {manifest.revision}")
    entry = manifest.artefacts[final[0]]
    extension = {"video/mp4": "mp4", "audio/wav": "wav"}.get(entry.blob.mime_type, "bin")
    rel = f"exports/{manifest.revision}.{extension}"
    store.storage.write_atomic(movie, rel, store.blobs.get(entry.blob))
    where = store.storage.resolve(movie, rel)
    console.print(f"[bold green]final cut[/bold green] ({manifest.revision}, {entry.blob.size} bytes): {where}")
    if store.storage.config.driver == "local":
        console.print(
            f"timeline: {len(manifest.timeline.tracks) if manifest.timeline else 0} tracks; "
            f"inspect with `movie-assets show {movie}` or `dagster dev` ({os.getcwd()})"
        )


if __name__ == "__main__":  # pragma: no cover
    app()
