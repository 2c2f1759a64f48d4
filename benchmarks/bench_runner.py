"""Runner overhead per job with a no-op producer (plan, signature check, blob put, event append,
progress checkpoint), then the commit (manifest, metrics, readable copies, stored graph) on its own line,
against the file-system floor (one staged blob and one log line per job, by hand, in the same run) and
Dagster's in-process materialisation per asset.

    python benchmarks/bench_runner.py [--quick]
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, size_parser, synthetic_blueprint, table  # noqa: E402

from movie_assets.movie import MovieStore
from movie_assets.pipeline.produce import ProduceRequest, ProduceResult
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext


def noop(request: ProduceRequest) -> ProduceResult:
    return ProduceResult(outputs={o.name: f"{request.job.job_id}:{o.name}".encode() for o in request.job.outputs})


def ours(segments: int, concurrency: int, where: str | None = None) -> tuple[float, float, int, float]:
    """Seconds of plan + run (the runner's share) and of the commit with its housekeeping (manifest,
    metrics, readable copies, stored graph), the number of jobs, and the CPU seconds of plan + run (every
    thread of the process: what the runner itself costs, apart from waiting for the disk)."""
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        store = MovieStore(StorageContext(StorageConfig.from_url(tmp)), "bench")
        store.init(synthetic_blueprint(), {"NumOfSegments": segments})
        start, cpu = time.perf_counter(), time.process_time()
        plan = store.plan()
        store.plans.save(plan)
        run = store.run(plan, noop, concurrency)
        ran, ran_cpu = time.perf_counter() - start, time.process_time() - cpu
        assert run.succeeded
        start = time.perf_counter()
        store.commit(run)
        return ran, time.perf_counter() - start, len(plan.jobs), ran_cpu


def raw_files(count: int, where: str | None = None) -> tuple[float, float]:
    """Seconds (and CPU seconds) to do by hand the file-system work a job's result needs at the least:
    write its blob through a staging file published by a hard link into a two-hex folder, and append
    one log line."""
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        os.makedirs(f"{tmp}/.staging")
        start, cpu = time.perf_counter(), time.process_time()
        with open(f"{tmp}/artefacts.log", "ab") as log:
            for i in range(count):
                data = f"job-{i}:out".encode()
                digest = hashlib.sha256(data).hexdigest()
                staged = f"{tmp}/.staging/{digest}.tmp"
                with open(staged, "wb") as handle:
                    handle.write(data)
                os.makedirs(f"{tmp}/{digest[:2]}", exist_ok=True)
                os.link(staged, f"{tmp}/{digest[:2]}/{digest}")
                os.unlink(staged)
                log.write(b'{"job": "%d"}\n' % i)
                log.flush()
        return time.perf_counter() - start, time.process_time() - cpu


def dagster(assets: int) -> float:
    import dagster as dg

    defs_assets = []
    for i in range(assets):

        @dg.asset(name=f"a{i}")
        def produce() -> bytes:
            return b"x"

        defs_assets.append(produce)
    with dg.instance_for_test() as instance:
        start = time.perf_counter()
        result = dg.materialize(defs_assets, instance=instance)
        seconds = time.perf_counter() - start
        assert result.success
    return seconds


def main() -> None:
    parser = size_parser(__doc__, "tiny sizes, no Dagster comparison (CI)")
    parser.add_argument("--no-dagster", action="store_true", help="skip Dagster's materialisation rows")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    sizes = [20] if args.smoke else [100, 500] if args.quick else [100, 500, 2500]
    # the disk the temp dir is on, then memory: where creating a file costs microseconds, the runner's own
    # overhead shows apart from the disk's
    places = [("disk (temp dir)", None)]
    if not args.smoke and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        places.append(("memory (tmpfs)", "/dev/shm"))
    rows = []
    for place, where in places:
        for segments in sizes:
            samples = sorted(ours(segments, 2, where) for _ in range(3))  # by plan + run time; the median run
            ran, committed, jobs, cpu = samples[1]
            per_job = [ran / jobs * 1000, cpu / jobs * 1000]
            rows.append(["movie_assets plan + run (concurrency 2)", place, jobs, ran, *per_job])
            rows.append(["movie_assets commit + housekeeping", place, jobs, committed, committed / jobs * 1000, "n/a"])
            raw, raw_cpu = sorted(raw_files(jobs, where) for _ in range(3))[1]
            floor = "floor: one staged blob + one log line per job, by hand"
            rows.append([floor, place, jobs, raw, raw / jobs * 1000, raw_cpu / jobs * 1000])
    skip = args.smoke or args.no_dagster
    for assets in [] if skip else [100, 300] if args.quick else [100, 300, 1000]:
        samples = sorted(dagster(assets) for _ in range(3))
        per_asset = samples[1] / assets * 1000
        rows.append(["Dagster materialize, in-process", "its SQLite", assets, samples[1], per_asset, "n/a"])
    table(
        "per-job overhead with a no-op producer, median of 3 (CPU: every thread of the process)",
        ["executor", "file system", "jobs / assets", "total s", "ms per job", "CPU ms per job"],
        rows,
    )


if __name__ == "__main__":
    main()
