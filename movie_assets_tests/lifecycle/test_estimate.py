"""A plan's cost estimate, from the movie's own history, against what the run then reports."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.lifecycle.estimate import estimate_cost

from ..helpers import CountingProduce
from .common import small_movie


def test_the_estimate_equals_what_the_offline_producers_then_report(local_storage):
    store = small_movie(local_storage)
    store.reroll("music")  # music, and what mixes it, rerun with the same inputs: the same costs
    plan = store.plan()
    estimate = estimate_cost(plan, store.events)
    assert set(estimate.per_job) == set(plan.job_ids) and estimate.unknown == []
    outcome = store.regenerate(CountingProduce())
    actual = sum(r.cost for r in outcome.run.results.values())
    assert estimate.total == pytest.approx(actual) and actual > 0


def test_a_first_plan_has_no_history_to_go_by_and_says_so(local_storage):
    from movie_assets.movie import MovieStore
    from movie_assets.pipeline.blueprint.load import load_builtin

    store = MovieStore(local_storage, "fresh")
    store.init(load_builtin("audio-only"), {"Title": "New", "NumOfSegments": 1})
    estimate = estimate_cost(store.plan(), store.events)
    assert estimate.total == 0 and sorted(estimate.unknown) == sorted(store.plan().job_ids)
    result = CliRunner().invoke(app, ["--root", local_storage.root, "plan", "fresh"])
    assert result.exit_code == 0 and "never ran before: not counted" in result.output
