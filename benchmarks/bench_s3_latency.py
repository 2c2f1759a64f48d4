"""Every command on S3, counted in requests and timed with a round trip added to each request.

moto's S3 server on loopback, behind a proxy that counts requests by method and sleeps a fixed delay
per request (0, 25 and 100 ms stand for the same machine, one region and across regions). The
commands are the CLI's, each in a new process as a user runs them (and, for the counts, all in one
process too), on an audio-only movie (narration in tones: the producers are not what is measured).
Counts are stable on a busy machine; times are not, so the tests assert counts.

    python benchmarks/bench_s3_latency.py [--quick | --smoke]
"""

from __future__ import annotations

import collections
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import machine, size_parser, table  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from movie_assets.cli import app  # noqa: E402
from movie_assets_tests.flaky_proxy import FlakyProxy  # noqa: E402
from movie_assets_tests.servers import MotoS3  # noqa: E402


def commands(segments: int) -> list[tuple[str, list[str]]]:
    """The commands measured, in the order a user runs them."""
    return [
        (
            "init",
            [
                "init",
                "film",
                "-b",
                "audio-only",
                "--set",
                f"NumOfSegments={segments}",
                "--set",
                "narration.model=tones",
            ],
        ),
        (f"first regenerate ({segments} segments)", ["regenerate", "film", "--yes"]),
        ("regenerate, nothing to do", ["regenerate", "film", "--yes"]),
        ("edit one segment", ["edit", "film", "SegmentText[1]=A second scene, rewritten."]),
        ("plan", ["plan", "film"]),
        ("status", ["status", "film"]),
        ("regenerate after one edit", ["regenerate", "film", "--yes"]),
        ("gc --grace 0s", ["gc", "film", "--grace", "0s"]),
        ("verify", ["verify", "film"]),
    ]


def floors(segments: int) -> dict[str, int]:
    """The requests each command cannot avoid on S3 with file event logs, in a new process, by the store's
    contracts. A plan reads the pointer, the manifest, the blueprint, both logs' tails and one listing of
    the blobs (a job whose outputs are gone is dirty). `plan` and `status` also name the readable copies
    edited by hand: their two folders listed, and the done marker that says when they were written. A run
    saves its plan, writes each new blob once (a conditional PUT), and per layer makes its jobs' events
    durable before the next layer starts (one append: a conditional PUT, after the process's first read of
    the log) and saves its progress. A commit takes the GC lock (PUT), checks its new blobs (one listing
    page or one round of checks at once), writes the manifest, swaps the pointer (its version is the one
    the plan read) and releases the lock (a DELETE, held well within its ttl). Each revision gets its
    metrics, two log archives (a read, the archive, the trim), its final cut (a copy inside the bucket),
    its results index, its changed readable copies after one listing, and a done marker. For the
    audio-only blueprint: 2n+5 jobs in 5 layers, 2n+6 distinct blobs, 2n+3 readable copies."""
    n = segments
    layers, copies, blobs = 5, 2 * n + 3, 2 * n + 6
    plan, edited, commit, housekeeping = 6, 3, 5, 11
    first = (plan - 1) + 1 + blobs + (layers + 1) + layers + commit + housekeeping + copies  # no manifest yet
    one_edit = plan + 1 + 4 + (4 + 1) + 4 + commit + housekeeping + 1  # 4 jobs in 4 layers, one changed copy
    return {
        "init": 3,  # the store's blueprints listed (the name may be one), the blueprint and inputs create-only
        f"first regenerate ({segments} segments)": first,
        "regenerate, nothing to do": plan + 1,  # and whether the last commit's housekeeping finished
        "edit one segment": 5,  # pointer, manifest, blueprint (to check the edit), the input log, the append
        "plan": plan + edited,
        "status": plan + edited + 1,  # and the metrics
        "regenerate after one edit": one_edit,
        "gc --grace 0s": 8 + copies,  # one listing, pointer, manifests, runs, logs; copies marked by content
        "verify": 12 + blobs,  # every blob read once, plus pointer, manifests, logs, copies, outputs
    }


def measure(
    moto: MotoS3, segments: int, delay_ms: int, redis_url: str | None = None, fresh: bool = False
) -> list[dict]:
    """One movie through every command; per command: S3 requests, by method, seconds. With `redis_url`
    the event log is Redis streams (the cloud form), else files on S3. `fresh`: each command in a new
    process, as a user's shell runs them (nothing a command read before is remembered); else all in this
    one, as a long-lived process (a code server, the viewer) would."""
    proxy = FlakyProxy(moto.endpoint)
    proxy.delay = delay_ms / 1000
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **moto.cli_environment(proxy.endpoint, tmp),
                "MOVIE_ASSETS_EVENT_LOG": "redis" if redis_url else "file",
                "MOVIE_ASSETS_REDIS_URL": redis_url or "",
                "MOVIE_ASSETS_REDIS_PREFIX": f"bench-{time.time_ns()}",
            }
            rows = []
            for name, args in commands(segments):
                proxy.seen.clear()
                start = time.perf_counter()
                if fresh:
                    cli = [sys.executable, "-m", "movie_assets.cli", *args]
                    done = subprocess.run(cli, env={**os.environ, **env}, capture_output=True, text=True)
                    code, output = done.returncode, done.stdout + done.stderr
                else:
                    result = CliRunner().invoke(app, args, env=env)
                    code, output = result.exit_code, result.output
                seconds = time.perf_counter() - start
                if code != 0:
                    raise SystemExit(f"{name} failed: {output[-2000:]}")
                methods = collections.Counter(method for method, _ in proxy.seen)
                rows.append(
                    {"command": name, "requests": len(proxy.seen), "methods": dict(methods), "seconds": seconds}
                )
            return rows
    finally:
        proxy.stop()


def main() -> None:
    parser = size_parser(__doc__)
    args = parser.parse_args()
    segments = 3 if args.smoke else 10 if args.quick else 30
    delays = [0] if args.smoke else [0, 25] if args.quick else [0, 25, 100]
    print(f"machine: {machine()}")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    moto = MotoS3()
    try:
        runs = {delay: measure(moto, segments, delay, fresh=True) for delay in delays}
        warm_delay = delays[min(1, len(delays) - 1)]
        warm = measure(moto, segments, warm_delay)
    finally:
        moto.stop()
    floor = floors(segments)
    one = ["one process: requests", f"one process: s at {warm_delay} ms"]
    header = ["command", "requests", "floor", "x floor", *one, "by method", *[f"s at {d} ms" for d in delays]]
    rows = []
    for i, row in enumerate(runs[delays[0]]):
        methods = " ".join(f"{m}:{n}" for m, n in sorted(row["methods"].items()))
        least = floor[row["command"]]
        seconds = [runs[d][i]["seconds"] for d in delays]
        requests = row["requests"]
        alone = [warm[i]["requests"], warm[i]["seconds"]]
        rows.append([row["command"], requests, least, requests / least, *alone, methods, *seconds])
    title = f"S3 requests and seconds per command (each a new process), audio-only, {segments} segments"
    table(title, header, rows)


if __name__ == "__main__":
    main()
