"""How many S3 requests each command makes (benchmarks/bench_s3_latency.py in its smoke form).

Counts, not times: they are stable on a busy machine. The ceilings are today's counts with a little
room; a change that adds round trips to a command fails here and has to say why."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_s3_latency.py"
# command -> most S3 requests it may make (audio-only, 3 segments), files on S3 / events in Redis
CEILINGS = {
    "init": (10, 6),
    "first regenerate (3 segments)": (150, 122),
    "regenerate, nothing to do": (15, 9),
    "edit one segment": (13, 5),
    "plan": (15, 9),
    "status": (13, 10),
    "regenerate after one edit": (95, 70),
    "gc --grace 0s": (28, 25),
    "verify": (62, 50),
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
