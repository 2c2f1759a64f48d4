"""Plan, run and commit one movie: the flow behind every face's regenerate (MovieStore.regenerate)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol

from movie_assets.pipeline.models import ExecutionPlan, JobResult, RegenerateOutcome
from movie_assets.pipeline.produce import ProduceFn
from movie_assets.pipeline.signature import SucceededIndex
from movie_assets.store.models import Manifest
from movie_assets.store.parallel import overlapped


class Planned(NamedTuple):
    """A plan, the live manifest it was made on and the reusable results it saw (MovieStore.planned)."""

    plan: ExecutionPlan
    base: Manifest
    index: SucceededIndex


class MovieStore(Protocol):
    """What the flow calls on a movie's facade (movie.MovieStore, a layer above this one)."""

    plans: Any

    def snapshot(self) -> AbstractContextManager[Any]: ...

    def planned(self, finishing: bool = False) -> Planned: ...

    def run(self, plan: ExecutionPlan, produce: ProduceFn, *args: Any, **kwargs: Any) -> Any: ...

    def published(self, run: Any) -> tuple[Any, Manifest, str | None]: ...


def regenerate(
    store: MovieStore,
    produce: ProduceFn,
    concurrency: int,
    on_result: Callable[[JobResult], None] | None,
    on_plan: Callable[[ExecutionPlan], None] | None,
    up_to_layer: int | None,
) -> RegenerateOutcome:
    """Finish an interrupted housekeeping, plan, run the plan's layers (1..`up_to_layer`) and commit when
    every layer ran and succeeded. The caller holds the movie's run lease.

    Each fact is read once: the housekeeping check goes beside the plan's reads of the logs, and the run
    takes the plan's base and reusable results (the commit's compare-and-swap still refuses a base that
    moved)."""
    with store.snapshot():
        planned = store.planned(finishing=True)
    plan = planned.plan
    if on_plan:
        on_plan(plan)
    if not plan.has_changes():
        return RegenerateOutcome(plan, None, None)
    # the plan is stored before any job runs, beside the run's first reads; the run's last records are
    # written beside the commit's first requests
    with overlapped():
        if up_to_layer is not None and up_to_layer < len(plan.layers):
            partial = plan.replace(layers=plan.layers[:up_to_layer])
            run = store.run(partial, produce, concurrency, on_result, planned=planned, saving=plan)
            return RegenerateOutcome(plan, run, None)
        run = store.run(plan, produce, concurrency, on_result, planned=planned, saving=plan)
        if not run.succeeded:
            return RegenerateOutcome(plan, run, None)
        pointer, manifest, final_cut = store.published(run)
    return RegenerateOutcome(plan, run, pointer, manifest, final_cut)
