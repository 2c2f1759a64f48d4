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


S3_KILLS = 8


@pytest.mark.timeout(600)
def test_sigkilled_regenerates_on_s3_keep_the_store_consistent_and_converge(tmp_path, moto_s3):
    # on S3 a run stores outputs while producers go on, appends together and saves progress behind:
    # a kill anywhere in that must still leave a store that verifies and loses no acknowledged line
    # a run killed while it holds the GC lease leaves it until it expires: five seconds, not a minute
    root, options = f"s3://{moto_s3.new_bucket()}/movies", {**moto_s3.options(), "lock_ttl": "5"}
    report = crash_loop(tmp_path, iterations=S3_KILLS, seed=5, root=root, options=options)
    assert not report.problems, report.problems
    assert report.kills >= S3_KILLS * 0.5, f"only {report.kills} of {S3_KILLS} runs were killed mid-flight"
    ack = str(tmp_path / "acked.txt")
    converge(root, ack, options=options)
    assert not check_store(root, ack, options)
    assert open_store(root, ack, MOVIE, options).plan().has_changes() is False
