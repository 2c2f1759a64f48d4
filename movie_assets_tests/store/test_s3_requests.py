"""How many S3 requests each command makes (benchmarks/bench_s3_latency.py in its smoke form).

Counts, not times: they are stable on a busy machine. The ceilings are today's counts with a little
room; a change that adds round trips to a command fails here and has to say why."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets_tests.flaky_proxy import FlakyProxy

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_s3_latency.py"
# command -> most S3 requests it may make (audio-only, 3 segments), files on S3 / events in Redis
CEILINGS = {
    "init": (4, 3),
    "first regenerate (3 segments)": (82, 66),  # room: how many appends a run's threads share varies
    "regenerate, nothing to do": (9, 7),
    "edit one segment": (5, 3),
    "plan": (9, 7),
    "status": (10, 8),
    "regenerate after one edit": (55, 47),
    "gc --grace 0s": (27, 25),
    "verify": (48, 45),
}


def _bench():
    spec = importlib.util.spec_from_file_location("bench_s3_latency", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("event_log", ["files on S3", "redis"])
def test_each_command_stays_within_its_s3_request_ceiling(moto_s3, redis_server, event_log):
    redis_url = redis_server.url if event_log == "redis" else None
    rows = _bench().measure(moto_s3, 3, 0, redis_url=redis_url)
    column = 0 if redis_url is None else 1
    over = {r["command"]: r["requests"] for r in rows if r["requests"] > CEILINGS[r["command"]][column]}
    assert over == {}, f"over the ceiling: {over}; all: {[(r['command'], r['requests']) for r in rows]}"
    assert all(r["requests"] > 0 for r in rows[1:]), "the proxy saw the commands"


@pytest.mark.parametrize("threads", [1, 3])
def test_a_command_keeps_at_most_the_io_threads_setting_in_flight(moto_s3, threads):
    proxy = FlakyProxy(moto_s3.endpoint)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**moto_s3.cli_environment(proxy.endpoint, tmp), "MOVIE_ASSETS_IO_THREADS": str(threads)}
            for args in (
                ["init", "film", "-b", "audio-only", "--set", "narration.model=tones"],
                ["regenerate", "film", "--yes"],
            ):
                assert CliRunner().invoke(app, args, env=env).exit_code == 0
            proxy.delay = 0.05  # a round trip long enough that requests sent together overlap
            proxy.most_in_flight = 0
            done = CliRunner().invoke(app, ["verify", "film"], env=env)
            assert done.exit_code == 0, done.output
    finally:
        proxy.stop()
    # verify reads every blob (more than three), as many at once as the setting allows and no more
    assert proxy.most_in_flight <= threads
    assert proxy.most_in_flight >= min(threads, 2), "the reads overlapped"


def test_plan_and_status_in_a_new_process_wait_for_five_round_trips_in_a_row(moto_s3):
    """The pointer, blueprint, blob listing and input log; the manifest; the artefact log with the stored
    graph and baseline; the results index; the edited copies' marker and listings (status: and the
    metrics). Five delays of waiting, and under three quarters of a delay more of requests sent together
    arriving a little apart (a busy host's scheduling); a sixth round trip in a row is a whole delay."""
    import os
    import subprocess
    import sys

    proxy = FlakyProxy(moto_s3.endpoint)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = moto_s3.cli_environment(proxy.endpoint, tmp)
            for args in (
                ["init", "film", "-b", "audio-only", "--set", "narration.model=tones"],
                ["regenerate", "film", "--yes"],
                ["edit", "film", "SegmentText[1]=A second scene, rewritten."],
            ):
                assert CliRunner().invoke(app, args, env=env).exit_code == 0
            proxy.delay = 0.3
            rounds = {}
            for command in ("plan", "status"):
                proxy.arrivals.clear()
                cli = [sys.executable, "-m", "movie_assets.cli", command, "film"]
                done = subprocess.run(cli, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
                assert done.returncode == 0, done.stderr
                rounds[command] = proxy.rounds()
    finally:
        proxy.stop()
    assert all(4.99 < waited < 5.75 for waited in rounds.values()), rounds
