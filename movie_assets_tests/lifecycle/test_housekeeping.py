"""A published revision always gets its housekeeping (export, metrics, readable copies), whichever path
published it; an interrupted one is finished by the next writing command, and verify notices it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.lifecycle import housekeeping
from movie_assets.lifecycle.exports import export_path
from movie_assets.lifecycle.metrics import metrics_path

from ..helpers import CountingProduce
from .common import small_movie


def _second_revision(store):
    store.edit({"SegmentText[0]": "A second revision."})
    return store.regenerate(CountingProduce())


def test_a_rollback_writes_its_export_metrics_and_done_marker(local_storage):
    store = small_movie(local_storage)
    assert _second_revision(store).committed
    result = CliRunner().invoke(app, ["--root", local_storage.root, "rollback", "film", "rev-0001"])
    assert result.exit_code == 0, result.output
    manifest, _ = store.current()
    assert str(manifest.revision) == "rev-0003"
    assert export_path(manifest) is not None and store.fs.exists(export_path(manifest)), "the rollback's final cut"
    assert store.fs.exists(metrics_path(manifest.revision))
    assert store.fs.exists(housekeeping.done_marker(manifest.revision))
    assert store.verify().ok


@pytest.mark.parametrize("step", ["export", "metrics"])
def test_housekeeping_cut_short_after_the_swap_is_reported_then_finished_by_the_next_regenerate(
    local_storage, monkeypatch, step
):
    store = small_movie(local_storage)
    target = "write_final_cut" if step == "export" else "record_metrics"

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(housekeeping, target, full_disk)
    outcome = _second_revision(store)
    assert outcome.committed, "the revision is published: housekeeping never undoes it"
    assert (outcome.final_cut is None) is (step == "export"), "a final cut is named only once written"
    monkeypatch.undo()
    manifest, _ = store.current()
    wanted = export_path(manifest) if step == "export" else metrics_path(manifest.revision)
    assert not store.fs.exists(wanted)
    report = store.verify()
    assert not report.ok and any(wanted in problem for problem in report.problems), report.problems
    again = store.regenerate(CountingProduce())
    assert not again.committed, "nothing to do"
    assert store.fs.exists(wanted), "the next regenerate finished the housekeeping"
    assert store.verify().ok


def test_verify_repair_finishes_interrupted_housekeeping(local_storage, monkeypatch):
    store = small_movie(local_storage)
    monkeypatch.setattr(housekeeping, "write_final_cut", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "full")))
    assert _second_revision(store).committed
    monkeypatch.undo()
    runner = CliRunner()
    checked = runner.invoke(app, ["--root", local_storage.root, "verify", "film"])
    assert checked.exit_code == 1 and "exports/rev-0002" in checked.output, checked.output
    repaired = runner.invoke(app, ["--root", local_storage.root, "verify", "film", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert store.fs.exists(export_path(store.current()[0]))


def test_the_final_cuts_measured_loudness_lands_in_the_revisions_metrics(local_storage):
    from movie_assets.lifecycle.metrics import load_metrics

    store = small_movie(local_storage)
    metrics = load_metrics(store.fs, store.current()[0].revision)
    assert metrics is not None and abs(metrics.loudness["integrated_lufs"] + 16) <= 1, metrics.loudness
    assert metrics.loudness["true_peak_dbtp"] <= -1
