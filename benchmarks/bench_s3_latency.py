"""Every command on S3, counted in requests and timed with a round trip added to each request.

moto's S3 server on loopback, behind a proxy that counts requests by method and sleeps a fixed delay
per request (0, 25 and 100 ms stand for the same machine, one region and across regions). The
commands are the CLI's, in process, on an audio-only movie (narration in tones: the producers are not
what is measured). Counts are stable on a busy machine; times are not, so the tests assert counts.

    python benchmarks/bench_s3_latency.py [--quick | --smoke]
"""

from __future__ import annotations

import collections
import json
import logging
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


def measure(moto: MotoS3, segments: int, delay_ms: int, redis_url: str | None = None) -> list[dict]:
    """One movie through every command; per command: S3 requests, by method, seconds. With `redis_url`
    the event log is Redis streams (the cloud form), else files on S3."""
    proxy = FlakyProxy(moto.endpoint)
    proxy.delay = delay_ms / 1000
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                "MOVIE_ASSETS_ROOT": f"s3://{moto.new_bucket()}/movies",
                "MOVIE_ASSETS_STORAGE_OPTIONS": json.dumps(moto.options(proxy.endpoint)),
                "MOVIE_ASSETS_BLOB_CACHE": f"{tmp}/cache",
                "MOVIE_ASSETS_EVENT_LOG": "redis" if redis_url else "file",
                "MOVIE_ASSETS_REDIS_URL": redis_url or "",
                "MOVIE_ASSETS_REDIS_PREFIX": f"bench-{time.time_ns()}",
            }
            rows = []
            for name, args in commands(segments):
                proxy.seen.clear()
                start = time.perf_counter()
                result = CliRunner().invoke(app, args, env=env)
                seconds = time.perf_counter() - start
                if result.exit_code != 0:
                    raise SystemExit(f"{name} failed: {result.output[-2000:]}")
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
        runs = {delay: measure(moto, segments, delay) for delay in delays}
    finally:
        moto.stop()
    header = ["command", "requests", "by method", *[f"s at {d} ms" for d in delays]]
    rows = []
    for i, row in enumerate(runs[delays[0]]):
        methods = " ".join(f"{m}:{n}" for m, n in sorted(row["methods"].items()))
        rows.append([row["command"], row["requests"], methods, *[runs[d][i]["seconds"] for d in delays]])
    table(f"S3 requests and seconds per command, audio-only, {segments} segments", header, rows)


if __name__ == "__main__":
    main()
