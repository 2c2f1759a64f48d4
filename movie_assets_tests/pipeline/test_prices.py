"""Cost before you spend: the price table, plan's estimate, and regenerate's cap, confirmation and
partial runs, checked against what the producers then report."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.errors import InvalidValue
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.pipeline.blueprint.schema import ModelChoice
from movie_assets.pipeline.prices import estimate, load_prices, shipped_prices

from ..helpers import CountingProduce


def _cli(root, *args: str, env: dict | None = None):
    return CliRunner().invoke(app, ["--root", str(root), *args], env=env)


@pytest.fixture
def film(local_storage):
    store = MovieStore(local_storage, "film")
    store.init(load_builtin("video-audio-music"), {"Title": "Priced", "NumOfSegments": 2})
    return store


def test_the_estimate_equals_what_the_offline_producers_then_report(film):
    plan = film.plan()
    cost = estimate(plan.jobs, shipped_prices())
    assert set(cost.per_job) == set(plan.job_ids) and cost.unpriced == [], "priced before anything ran"
    outcome = film.regenerate(CountingProduce())
    reported = sum(r.cost for r in outcome.run.results.values())
    assert reported == pytest.approx(cost.total) and reported > 0.2  # two clips at $0.10
    logged = sum(e.cost for e in film.events.stream_artefacts() if e.status == "succeeded")
    assert logged == pytest.approx(cost.total), "the artefact events carry what each job cost"


def test_a_user_table_overrides_entries_and_an_unknown_model_is_listed_not_free(film, tmp_path):
    own = tmp_path / "prices.yaml"
    own.write_text("offline:\n  video_clip: 1.5\nreplicate:\n  my/model: 0.5\n")
    table = load_prices(own)
    assert table.price("offline", None, "video_clip") == 1.5 and table.price("offline", None, "music") == 0.05
    assert table.price("replicate", "my/model", "image") == 0.5
    assert table.price("replicate", "someone/else", "nope") is None
    bp = load_builtin("audio-only")
    choices = {"theirs": ModelChoice(provider="replicate", model="someone/else")}
    music = bp.producers["music"].model_copy(update={"models": choices, "model_choice": "theirs"})
    store = MovieStore(film.storage, "other")
    store.init(bp.model_copy(update={"producers": {**bp.producers, "music": music}}), {"Title": "X"})
    cost = estimate(store.plan().jobs, table)
    assert cost.unpriced == ["music"] and "music" not in cost.per_job
    bad = tmp_path / "bad.yaml"
    bad.write_text("offline: {video_clip: -1}\n")
    with pytest.raises(InvalidValue, match="negative prices"):
        load_prices(bad)


def test_plan_shows_each_jobs_price_and_the_total(film):
    shown = _cli(film.storage.root, "plan", "film")
    assert shown.exit_code == 0, shown.output
    assert "est. USD" in shown.output and "0.1000" in shown.output
    total = estimate(film.plan().jobs, shipped_prices()).total
    assert f"${total:.4f}" in shown.output
    as_json = json.loads(_cli(film.storage.root, "plan", "film", "--json").output)
    assert as_json["estimated_cost_usd"]["total"] == pytest.approx(total)
    broken = _cli(film.storage.root, "plan", "film", env={"MOVIE_ASSETS_PRICES": "/no/such/prices.yaml"})
    assert broken.exit_code == 2 and "price table /no/such/prices.yaml" in broken.output


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("openai: {gpt: cheap}\n", "openai.gpt: Input should be a valid number"),
        ("- 1\n", "the file: Input should be a valid dictionary"),
        ("openai: [gpt\n", "while parsing a flow sequence"),
    ],
)
def test_a_bad_price_file_is_one_line_naming_the_entry(film, tmp_path, text, said):
    bad = tmp_path / "prices.yaml"
    bad.write_text(text)
    shown = _cli(film.storage.root, "plan", "film", env={"MOVIE_ASSETS_PRICES": str(bad)})
    assert shown.exit_code == 2 and said in shown.output
    assert shown.output.strip().count("\n") == 0, shown.output


def test_max_cost_refuses_before_any_job_runs(film):
    refused = _cli(film.storage.root, "regenerate", "film", "--max-cost", "0.05")
    assert refused.exit_code == 2 and "above max cost $0.0500; nothing was run" in refused.output
    assert list(film.events.stream_artefacts()) == [] and film.manifests.load_pointer() is None


def test_above_the_threshold_it_asks_and_without_a_terminal_it_needs_yes(film):
    env = {"MOVIE_ASSETS_CONFIRM_ABOVE_USD": "0.01"}
    asked = _cli(film.storage.root, "regenerate", "film", env=env)
    assert asked.exit_code == 2 and "Pass --yes" in asked.output
    assert list(film.events.stream_artefacts()) == []
    done = _cli(film.storage.root, "regenerate", "film", "--yes", env=env)
    assert done.exit_code == 0 and "committed rev-0001" in done.output


def test_up_to_layer_runs_the_first_layers_publishes_nothing_and_the_rest_reuses_them(film):
    plan = film.plan()
    first = {job.job_id for job in plan.layers[0]}
    partial = _cli(film.storage.root, "regenerate", "film", "--up-to-layer", "1")
    assert partial.exit_code == 0 and "stopped after layer 1" in partial.output, partial.output
    assert film.manifests.load_pointer() is None, "nothing published"
    assert {e.job_id for e in film.events.stream_artefacts()} == first
    counting = CountingProduce()
    outcome = film.regenerate(counting)
    assert outcome.committed and not (set(counting.calls) & first), "layer 1 is reused, not produced again"
