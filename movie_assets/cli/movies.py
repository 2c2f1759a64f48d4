"""Making and changing a movie: init, edit, plan, regenerate, status, show, export."""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from movie_assets.cli.catalog import print_edited
from movie_assets.cli.common import (
    app,
    console,
    err,
    esc,
    handle_errors,
    labelled,
    movie_store,
    new_table,
    parse_assignments,
    read_yaml,
    settings,
    write_bytes,
    write_verified,
)
from movie_assets.errors import (
    InvalidValue,
)

if TYPE_CHECKING:  # imported where used: `--help` must not load the whole store
    from movie_assets.movie import MovieStore
    from movie_assets.pipeline.models import ExecutionPlan, JobResult
    from movie_assets.pipeline.prices import CostEstimate, PriceTable


@app.command()
@handle_errors
def init(
    movie: str = typer.Argument(..., help="Id of the new movie (letters, digits, - and _)."),
    blueprint: str = typer.Option(..., "--blueprint", "-b", help="Shipped blueprint name or YAML file."),
    inputs: Path = typer.Option(None, "--inputs", "-i", help="YAML file of input values."),
    set_: list[str] = typer.Option([], "--set", help="KEY=VALUE overrides."),
) -> None:
    """Create a movie from a blueprint and its initial inputs."""
    from movie_assets.pipeline.blueprint.inputs import values_from_text
    from movie_assets.pipeline.blueprint.load import resolve_blueprint

    values = read_yaml(inputs) if inputs else {}
    if values is not None and not isinstance(values, dict):
        raise InvalidValue(f"{inputs}: expected a mapping of input names to values")
    bp = resolve_blueprint(blueprint, settings().storage().registered_blueprints())
    values = {**(values or {}), **values_from_text(bp, parse_assignments(set_))}
    events = movie_store(movie).init(bp, values)
    console.print(f"created movie [bold]{movie}[/bold] ({len(events)} input events)")


@app.command()
@handle_errors
def edit(
    movie: str = typer.Argument(..., help="The movie to edit."),
    assignments: list[str] = typer.Argument(..., help='KEY=VALUE edits, e.g. "SegmentText[1]=A new line."'),
) -> None:
    """Append input edits: KEY=VALUE (loop inputs as Name[i]=VALUE)."""
    from movie_assets.pipeline.blueprint.inputs import values_from_text

    store = movie_store(movie)
    with store.snapshot():  # the blueprint that reads the values is the one the edit checks them against
        events = store.edit(values_from_text(store.blueprint(), parse_assignments(assignments)))
    for event in events:
        console.print(f"#{event.id} {esc(event.key)} = {esc(repr(event.value))}")


SUMMARY_ROWS = 20  # a plan longer than this is summarised unless --all


def listed(keys: list[str], limit: int | None) -> str:
    """Input keys for people: in natural order (SegmentText[2] before SegmentText[10]), the first `limit`
    of them and how many more (a tail that edits 5,000 segments is not one 100 KB line)."""
    ordered = sorted(keys, key=_natural)
    shown = ordered if limit is None else ordered[:limit]
    more = len(ordered) - len(shown)
    return esc(", ".join(shown)) + (f" (+{more:,} more)" if more else "")


def _natural(key: str) -> list:
    # split keeps the digit runs at odd positions, so numbers only ever compare with numbers
    return [int(part) if index % 2 else part for index, part in enumerate(re.split(r"(\d+)", key))]


def _print_ignored(plan: ExecutionPlan) -> None:
    if plan.ignored:
        err.print(
            labelled(
                "warning: ", "yellow", f"ignored (no such artefact or job in this graph): {', '.join(plan.ignored)}"
            ),
            highlight=False,
        )


def print_plan(plan: ExecutionPlan, estimate: CostEstimate | None = None, everything: bool = True) -> None:
    """The plan as tables; a long one (printing 10,000 rows takes seconds) as counts, reasons and the
    first rows unless `everything`."""
    console.print(
        f"[bold]{plan.movie_id}[/bold] {plan.base_revision} -> {plan.revision}: {len(plan.jobs)} jobs in "
        f"{len(plan.layers)} layers, {len(plan.carried)} carried, {len(plan.reused)} reused from the log"
    )
    if plan.changed_inputs:
        console.print("changed inputs: " + listed(plan.changed_inputs, None if everything else SUMMARY_ROWS))
    _print_ignored(plan)
    rows = [(n, job) for n, layer in enumerate(plan.layers, start=1) for job in layer]
    short = not everything and len(rows) > SUMMARY_ROWS
    if short:
        _print_plan_summary(plan)
    table = new_table("layer", "job", "direct", "est. USD", "why dirty")
    for number, job in rows[:SUMMARY_ROWS] if short else rows:
        usd = estimate.per_job.get(job.job_id) if estimate else None
        price = "?" if usd is None else f"{usd:.4f}"
        table.add_row(str(number), job.job_id, "yes" if job.direct else "", price, esc("; ".join(job.reasons)))
    if rows:
        console.print(table)
    if short:
        console.print(f"… and {len(rows) - SUMMARY_ROWS} more jobs: --all lists every one, --json gives the plan")
    if estimate is not None and plan.jobs:
        unpriced = f" ({len(estimate.unpriced)} jobs not in the price table: not counted)" if estimate.unpriced else ""
        console.print(f"estimated cost [bold]${estimate.total:.4f}[/bold] (price table){unpriced}")


def _print_plan_summary(plan: ExecutionPlan) -> None:
    by_producer = Counter(job.producer for job in plan.jobs)
    layers = new_table("layer", "jobs", "producers")
    for number, layer in enumerate(plan.layers, start=1):
        producers = Counter(job.producer for job in layer)
        layers.add_row(str(number), str(len(layer)), ", ".join(f"{p} ×{n}" for p, n in producers.most_common()))
    console.print(layers)
    reasons = Counter(_reason_kind(reason) for job in plan.jobs for reason in job.reasons)
    why = new_table("why dirty", "jobs")
    for reason, count in reasons.most_common(10):
        why.add_row(reason, str(count))
    console.print(why)
    console.print("by producer: " + ", ".join(f"{p} ×{n}" for p, n in by_producer.most_common()))


def _reason_kind(reason: str) -> str:
    """A reason without the ids in it, so reasons group: `input SegmentText[4] changed` -> `input … changed`."""
    words = reason.split(" ")
    if len(words) >= 3 and words[0] in ("input", "artefact"):
        return f"{words[0]} … {' '.join(words[2:])}"
    return reason.split(":", 1)[0]


@app.command()
@handle_errors
def plan(
    movie: str = typer.Argument(..., help="The movie to plan."),
    everything: bool = typer.Option(False, "--all", help="List every job, however long the plan."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON (for machines)."),
) -> None:
    """Show what the next regenerate would run, why, and what it will probably cost; writes nothing."""
    from movie_assets.lifecycle.housekeeping import edited_readable_copies
    from movie_assets.pipeline.prices import estimate

    with movie_store(movie).snapshot() as store:  # a read-only view: each file read once
        plan = store.plan()
        cost = estimate(plan.jobs, settings().price_table())
        if as_json:
            # msgspec writes the plan's JSON itself (a 10,000-job plan is megabytes; building Python dicts for
            # json.dumps took longer than planning); the estimate joins it as one more top-level key
            estimate_json = json.dumps({"total": cost.total, "per_job": cost.per_job, "unpriced": cost.unpriced})
            body = memoryview(plan.to_json())[:-1]
            # the bytes go straight out: megabytes of UTF-8 are not decoded to be encoded again
            write_bytes(body, f',"estimated_cost_usd":{estimate_json}}}\n'.encode())
            return
        print_plan(plan, cost, everything)
        print_edited(movie, edited_readable_copies(store))


@app.command()
@handle_errors
def regenerate(
    movie: str = typer.Argument(..., help="The movie to regenerate."),
    concurrency: int = typer.Option(2, "--concurrency", "-c", min=1, help="Jobs run at once within a layer."),
    offline: bool = typer.Option(
        False, "--offline", help="Run every job with the offline producers: no network, nothing spent."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Spend without asking, whatever the estimate."),
    max_cost: float = typer.Option(
        None, "--max-cost", min=0, help="Refuse (run nothing) if the estimate is above USD."
    ),
    up_to_layer: int = typer.Option(
        None, "--up-to-layer", min=1, help="Run layers 1..N only and publish nothing (later runs reuse them)."
    ),
) -> None:
    """Plan, check the cost, run the dirty producers and commit the next revision."""
    store = movie_store(movie)
    budget = Budget(settings().price_table(), max_cost, None if yes else settings().confirm_above_usd)
    _regenerate(store, concurrency, offline, budget, up_to_layer)


class Budget:
    """The spending rule of one regenerate: a hard cap, and a threshold above which a person confirms."""

    def __init__(self, table: PriceTable, max_cost: float | None, confirm_above: float | None) -> None:
        self.table, self.max_cost, self.confirm_above = table, max_cost, confirm_above

    def check(self, plan: ExecutionPlan) -> CostEstimate:
        """Refuse (InvalidValue: nothing has run) when the plan costs more than allowed; ask a person at
        a terminal above the threshold."""
        from movie_assets.pipeline.prices import ConsentNeeded, check_spend

        try:
            return check_spend(plan.jobs, self.table, self.max_cost, self.confirm_above)
        except ConsentNeeded as exc:
            question = f"{plan.revision} is estimated at ${exc.cost.total:.4f}; spend it?"
            if not sys.stdin.isatty():
                raise InvalidValue(f"{question} Pass --yes to confirm (no terminal to ask); nothing was run") from None
            if not typer.confirm(question):
                raise InvalidValue("not confirmed; nothing was run") from None
            return exc.cost


def _regenerate(
    store: MovieStore,
    concurrency: int,
    offline: bool = False,
    budget: Budget | None = None,
    up_to_layer: int | None = None,
):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from movie_assets.producers.registry import describe_missing, registry_from_environ

    # the CLI is where credentials are read; --offline reads none, so no job reaches a network provider
    registry = registry_from_environ({} if offline else os.environ, offline)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console.real
    ) as progress:
        task = progress.add_task("planning", total=None)

        def on_plan(plan: ExecutionPlan) -> None:
            # refuse before running anything when a job's provider is not configured
            problems = registry.missing(plan.jobs)
            if problems:
                missing = "\n  ".join(describe_missing(problems))
                raise InvalidValue(f"cannot run this plan, nothing was run:\n  {missing}")
            if budget is not None:
                progress.stop()  # a confirmation prompt must not fight the progress bar
                budget.check(plan)
                progress.start()
            jobs = plan.layers[:up_to_layer] if up_to_layer else plan.layers
            progress.update(task, description=f"{plan.revision}", total=sum(len(layer) for layer in jobs))

        def on_result(result: JobResult) -> None:
            progress.advance(task)
            progress.update(task, description=f"{result.job_id} [{result.status}]")

        outcome = store.regenerate(registry, concurrency, on_result=on_result, on_plan=on_plan, up_to_layer=up_to_layer)
    if outcome.run is None:
        console.print(f"{store.movie_id}: up to date at {outcome.plan.base_revision}; nothing to do")
    elif up_to_layer and outcome.run.succeeded and not outcome.committed:
        console.print(
            f"stopped after layer {up_to_layer} of {len(outcome.plan.layers)}: {len(outcome.run.produced)} produced, "
            f"cost ${sum(r.cost for r in outcome.run.results.values()):.4f}; nothing published "
            "(the next regenerate reuses these results)"
        )
    elif outcome.committed:
        run = outcome.run
        console.print(
            f"[green]committed {outcome.pointer.revision}[/green]: {len(run.produced)} produced, "
            f"{len(run.results) - len(run.produced)} reused, cost ${sum(r.cost for r in run.results.values()):.4f}"
        )
        if outcome.final_cut is not None:  # where the film is: what a movie maker opens next
            console.print(f"final output: {esc(store.fs.resolve(outcome.final_cut))}")
    else:
        for job_id, result in outcome.run.results.items():
            if result.status in ("failed", "skipped"):
                err.print(f"[red]{result.status}[/red] {job_id}: {esc(result.error)}")
        err.print(f"[red]run failed[/red]; {outcome.plan.base_revision} stays live (rerun reuses what succeeded)")
        raise typer.Exit(1)
    return outcome


@app.command()
@handle_errors
def status(movie: str = typer.Argument(..., help="The movie.")) -> None:
    """Live revision, pending edits and what a regenerate would do."""
    from movie_assets.lifecycle.housekeeping import edited_readable_copies
    from movie_assets.lifecycle.metrics import load_metrics
    from movie_assets.store.parallel import at_once, threads_for

    with movie_store(movie).snapshot() as store:  # a read-only view: each file read once
        plan = store.plan()  # reads the pointer beside the plan's other first reads
        manifest, digest = store.current()
        console.print(f"[bold]{movie}[/bold] live: {manifest.revision} ({digest or 'never committed'})")
        console.print(f"blueprint: {store.blueprint().meta.id}; artefacts: {len(manifest.artefacts)}")
        pending = listed(plan.changed_inputs, SUMMARY_ROWS) or "none"
        console.print(f"pending input changes: {pending}; dirty jobs: {len(plan.jobs)}")
        _print_ignored(plan)
        # on S3 the edited copies' reads and the metrics' are round trips that need nothing of each other
        recorded = lambda: load_metrics(store.fs, manifest.revision) if digest else None  # noqa: E731
        edited, metrics = at_once([lambda: edited_readable_copies(store), recorded], threads_for(store.fs, 2))
        print_edited(movie, edited)
        if metrics:
            console.print(
                f"{manifest.revision} took {metrics.attempts} producer runs ({metrics.retries} retries, "
                f"{metrics.reused} reused), cost {metrics.cost:.4f}, {metrics.duration_s:.2f}s of producer time"
            )
            table = new_table("producer", "runs", "failed", "cost", "seconds")
            for name, pm in sorted(metrics.producers.items()):
                table.add_row(name, str(pm.attempts), str(pm.failed), f"{pm.cost:.4f}", f"{pm.duration_s:.2f}")
            console.print(table)


@app.command()
@handle_errors
def show(
    movie: str = typer.Argument(..., help="The movie."),
    revision: str = typer.Option(None, "--revision", "-r", help="A revision such as rev-0002 (default: live)."),
) -> None:
    """Print a revision's inputs and artefacts."""
    from movie_assets.store.models import RevisionId

    store = movie_store(movie)
    manifest = store.manifests.load(RevisionId(revision)) if revision else store.current()[0]
    console.print(f"[bold]{movie}[/bold] {manifest.revision} (parent {manifest.parent}) {manifest.created_at}")
    inputs = new_table("input", "value")
    for key, entry in manifest.inputs.items():
        inputs.add_row(esc(key), esc(repr(entry.value)[:80]))
    console.print(inputs)
    artefacts = new_table("artefact", "mime", "size", "blob")
    for key, entry in manifest.artefacts.items():
        artefacts.add_row(key, esc(entry.blob.mime_type), str(entry.blob.size), entry.blob.hash[:12])
    console.print(artefacts)


@app.command()
@handle_errors
def export(
    movie: str = typer.Argument(..., help="The movie."),
    artefact: str = typer.Argument(..., help="The artefact id, e.g. export/movie."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write."),
    revision: str = typer.Option(None, "--revision", "-r", help="A revision such as rev-0002 (default: live)."),
) -> None:
    """Write one artefact of a revision to a file (hash-verified)."""
    from movie_assets.store.models import RevisionId

    store = movie_store(movie)
    manifest = store.manifests.load(RevisionId(revision)) if revision else store.current()[0]
    if artefact not in manifest.artefacts:
        raise InvalidValue(f"{manifest.revision} has no artefact {artefact!r}; see `movie-assets show {movie}`")
    write_verified(output, store.blobs.open(manifest.artefacts[artefact].blob))
    console.print(f"wrote {esc(output)} ({manifest.artefacts[artefact].blob.size} bytes)")


@app.command()
@handle_errors
def override(
    movie: str = typer.Argument(..., help="The movie."),
    artefact: str = typer.Argument(..., help="The artefact to replace, e.g. segment-0001/script/text."),
    file: Path = typer.Argument(..., help="Your file; its type must match the artefact's."),
) -> None:
    """Pin your own file as an artefact: its producer stops running, what reads it reruns."""
    from movie_assets.store.files import open_regular

    with open_regular(file) as handle:
        event = movie_store(movie).override(artefact, handle)
    console.print(f"#{event.id} pinned {artefact} = {event.value['hash'][:12]} ({event.value['size']} bytes)")


@app.command()
@handle_errors
def unpin(
    movie: str = typer.Argument(..., help="The movie."),
    artefact: str = typer.Argument(..., help="The pinned artefact to give back to its producer."),
) -> None:
    """Give a pinned artefact back to its producer."""
    event = movie_store(movie).unpin(artefact)
    console.print(f"#{event.id} unpinned {artefact}")


@app.command()
@handle_errors
def reroll(
    movie: str = typer.Argument(..., help="The movie."),
    job: str = typer.Argument(..., help="The job to redo, e.g. segment-0001/video_clip or music."),
    take: int = typer.Option(None, "--take", min=0, help="Go to this take instead of a new one (0: the first)."),
) -> None:
    """Ask a job for another take (earlier takes stay in history and come back with --take)."""
    event = movie_store(movie).reroll(job, take=take)
    console.print(f"#{event.id} {job}: take {event.value or 0} on the next regenerate")
