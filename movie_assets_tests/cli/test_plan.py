"""`movie-assets plan` stays readable for long plans: a summary by default, --all and --json on request."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.movie import MovieStore
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext


def _cli(root, *args):
    return CliRunner().invoke(app, ["--root", str(root), *args])


def test_a_long_plan_is_summarised_and_all_or_json_give_every_job(tmp_path):
    root = tmp_path / "b"
    assert (
        _cli(root, "init", "long", "-b", "audio-only", "--set", "Title=Long", "--set", "NumOfSegments=15").exit_code
        == 0
    )
    summary = _cli(root, "plan", "long")
    assert summary.exit_code == 0
    assert "more jobs: --all lists every one" in summary.output and "by producer:" in summary.output
    assert "narration ×15" in summary.output and "new job (not in the current revision)" in summary.output
    assert "segment-0014/narration" not in summary.output, "rows past the first 20 are not printed"

    everything = _cli(root, "plan", "long", "--all")
    assert everything.exit_code == 0 and "segment-0014/narration" in everything.output

    as_json = _cli(root, "plan", "long", "--json")
    document = json.loads(as_json.output)
    jobs = [job["job_id"] for layer in document["layers"] for job in layer]
    assert "segment-0014/narration" in jobs and document["revision"] == "rev-0001"
    assert document["estimated_cost_usd"]["total"] > 0 and document["estimated_cost_usd"]["unpriced"] == []


def test_a_short_plan_is_printed_whole(tmp_path):
    root = tmp_path / "b"
    assert (
        _cli(root, "init", "short", "-b", "audio-only", "--set", "Title=Short", "--set", "NumOfSegments=1").exit_code
        == 0
    )
    result = _cli(root, "plan", "short")
    assert result.exit_code == 0 and "more jobs" not in result.output and "segment-0000/narration" in result.output


def test_changed_inputs_are_listed_in_natural_order_and_a_long_list_is_cut(tmp_path):
    root = tmp_path / "b"
    made = _cli(root, "init", "long", "-b", "audio-only", "--set", "Title=Long", "--set", "NumOfSegments=25")
    assert made.exit_code == 0
    plan = _cli(root, "plan", "long")
    assert plan.exit_code == 0
    line = next(row for row in plan.output.splitlines() if row.startswith("changed inputs: "))
    assert "SegmentText[2], SegmentText[3]" in line and "SegmentText[10]" in line, line
    assert line.index("SegmentText[9]") < line.index("SegmentText[10]") and line.endswith(" more)"), line
    status = _cli(root, "status", "long")
    pending = next(row for row in status.output.splitlines() if row.startswith("pending input changes: "))
    keys, _, rest = pending.removeprefix("pending input changes: ").partition(" (+")
    changed = len(MovieStore(StorageContext(StorageConfig.from_url(str(root))), "long").plan().changed_inputs)
    assert len(keys.split(", ")) == 20 and rest.startswith(f"{changed - 20} more); dirty jobs:"), pending
    everything = _cli(root, "plan", "long", "--all")
    line = next(row for row in everything.output.splitlines() if row.startswith("changed inputs: "))
    assert "SegmentText[24]" in line and "more)" not in line, line
