"""SIGKILL at random moments during real regenerate/commit runs: the store stays consistent."""

import os

import pytest

from .harness import MOVIE, check_store, clean_build, converge, crash_loop, open_store

KILLS = int(os.environ.get("MOVIE_ASSETS_CRASH_ITERATIONS", "200"))


@pytest.mark.timeout(900)
def test_sigkill_loop_keeps_the_store_consistent_and_converges(tmp_path):
    report = crash_loop(tmp_path, iterations=KILLS, seed=11)
    assert not report.problems, report.problems
    assert report.kills >= KILLS * 0.5, f"only {report.kills} of {KILLS} runs were killed mid-flight"
    assert report.revisions >= 1

    root, ack = str(tmp_path / "builds"), str(tmp_path / "acked.txt")
    store = converge(root, ack)
    assert not check_store(root, ack)
    final, _ = store.current()
    reference = clean_build(root, {k: e.value for k, e in final.inputs.items()})
    expected = {a: e.blob.hash for a, e in reference.current()[0].artefacts.items()}
    assert {a: e.blob.hash for a, e in final.artefacts.items()} == expected
    assert open_store(root, ack, MOVIE).plan().has_changes() is False
