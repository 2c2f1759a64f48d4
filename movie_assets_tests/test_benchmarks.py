"""Every benchmark script still runs (tiny sizes, `--smoke`): figures mean nothing here, so nothing
is asserted about time; time belongs to benchmarks/, run by hand or by run_all.sh."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# bench_s3_latency's smoke form is store/test_s3_requests.py, which asserts its request counts
SMOKED_ELSEWHERE = {"bench_s3_latency.py"}
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("bench_*.py") if p.name not in SMOKED_ELSEWHERE)


def test_every_benchmark_script_is_covered():
    assert len(SCRIPTS) >= 7 and "bench_dagster.py" in SCRIPTS


@pytest.mark.timeout(300)  # ample for the slowest smoke run (bench_dagster starts Dagster runs and PostgreSQL)
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_benchmark_runs_in_its_smoke_form(script, tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "DAGSTER_HOME": "", "MOVIE_ASSETS_ROOT": str(tmp_path / "b")}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke"], capture_output=True, text=True, env=env, timeout=240
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed_table = "|" in done.stdout or "is not installed" in done.stdout  # the DVC comparison needs dvc
    assert "machine:" in done.stdout and printed_table, "it printed its table"
