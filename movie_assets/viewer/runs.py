"""Regenerations started from the viewer: one background thread per movie, progress kept for polling.

A second click while a movie's run is going returns the running one instead of starting another.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from movie_assets.errors import MovieAssetsError
from movie_assets.movie import MovieStore
from movie_assets.pipeline.models import ExecutionPlan, JobResult
from movie_assets.pipeline.prices import check_spend
from movie_assets.pipeline.produce import ProduceFn
from movie_assets.settings import Settings


@dataclass
class RunState:
    movie_id: str
    status: str = "planning"  # planning | running | committed | up-to-date | failed
    total: int = 0
    done: int = 0
    current: str = ""
    revision: str = ""
    message: str = ""
    started: float = field(default_factory=time.time)

    def as_json(self) -> dict:
        return {
            "movie": self.movie_id,
            "status": self.status,
            "total": self.total,
            "done": self.done,
            "current": self.current,
            "revision": self.revision,
            "message": self.message,
            "finished": self.status in ("committed", "up-to-date", "failed"),
        }


class Regenerations:
    """The viewer's background runs, by movie."""

    def __init__(self, produce_factory: Callable[[], ProduceFn], settings: Settings) -> None:
        self.produce_factory = produce_factory
        self.settings = settings
        self._runs: dict[str, RunState] = {}
        self._lock = threading.Lock()

    def get(self, movie_id: str) -> RunState | None:
        return self._runs.get(movie_id)

    def start(self, store: MovieStore, approved_usd: float | None = None) -> tuple[RunState, bool]:
        """The movie's run: a new one, or (False) the one already going. The new one runs only while its
        plan's estimate is within what was approved (or under the confirmation threshold)."""
        with self._lock:
            running = self._runs.get(store.movie_id)
            if running and running.status in ("planning", "running"):
                return running, False
            state = RunState(store.movie_id)
            self._runs[store.movie_id] = state
        thread = threading.Thread(
            target=self._run, args=(store, state, approved_usd), name=f"regenerate-{store.movie_id}"
        )
        thread.daemon = True
        thread.start()
        return state, True

    def _run(self, store: MovieStore, state: RunState, approved_usd: float | None) -> None:
        try:
            self._regenerate(store, state, approved_usd)
        except MovieAssetsError as exc:
            state.status, state.message = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - a background thread reports, it has nobody to raise to
            state.status, state.message = "failed", f"{type(exc).__name__}: {exc}"

    def _regenerate(self, store: MovieStore, state: RunState, approved_usd: float | None) -> None:
        produce = self.produce_factory()  # one registry per run: provider discovery is not free
        table, threshold = self.settings.price_table(), self.settings.confirm_above_usd

        def on_plan(plan: ExecutionPlan) -> None:
            # the plan may have grown since its estimate was shown: the spend rule again, on what runs
            check_spend(plan.jobs, table, approved_usd, threshold, approved=approved_usd is not None)
            missing = getattr(produce, "missing", None)
            if missing and (problems := missing(plan.jobs)):
                raise MovieAssetsError(f"providers not configured: {sorted(problems)}")
            state.status, state.total, state.revision = "running", len(plan.jobs), str(plan.revision)

        def on_result(result: JobResult) -> None:
            state.done += 1
            state.current = f"{result.job_id} [{result.status}]"

        outcome = store.regenerate(produce, on_result=on_result, on_plan=on_plan)
        if outcome.run is None:
            state.status, state.message = "up-to-date", f"nothing to do at {outcome.plan.base_revision}"
        elif outcome.committed:
            state.status, state.revision = "committed", str(outcome.pointer.revision)
            state.message = f"{outcome.pointer.revision} is live"
        else:
            failed = [j for j, r in outcome.run.results.items() if r.status == "failed"]
            state.status, state.message = "failed", f"failed jobs: {', '.join(failed)}; nothing was published"
