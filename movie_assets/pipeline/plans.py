"""`runs/<rev>-plan.json` and `runs/<rev>-progress.json` of one movie."""

from __future__ import annotations

from movie_assets.errors import NotFound
from movie_assets.pipeline.models import ExecutionPlan, RunProgress
from movie_assets.store.models import RevisionId
from movie_assets.store.storage import MovieFS


class PlanStore:
    """`runs/<rev>-plan.json` and `runs/<rev>-progress.json` of one movie."""

    def __init__(self, fs: MovieFS) -> None:
        self.fs = fs
        self.movie_id = fs.movie_id

    def save(self, plan: ExecutionPlan) -> str:
        rel = f"runs/{plan.revision}-plan.json"
        self.fs.write_atomic(rel, plan.canonical())
        return rel

    def load(self, revision: RevisionId | str) -> ExecutionPlan:
        rel = f"runs/{RevisionId(revision)}-plan.json"
        return ExecutionPlan.parse_document(self.fs.read(rel), f"{self.movie_id}/{rel}")

    def save_progress(self, progress: RunProgress) -> None:
        self.fs.write_atomic(f"runs/{progress.revision}-progress.json", progress.canonical())

    def load_progress(self, revision: RevisionId | str) -> RunProgress | None:
        rel = f"runs/{RevisionId(revision)}-progress.json"
        try:
            raw = self.fs.read(rel)
        except NotFound:
            return None
        return RunProgress.parse_document(raw, f"{self.movie_id}/{rel}")
