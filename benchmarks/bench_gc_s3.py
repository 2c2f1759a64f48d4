"""GC sweep on S3 (moto's server over real HTTP on loopback): the S3 driver's batch path (one HEAD a
file for the time check, one DeleteObjects per thousand keys) against the per-file path every driver
inherits (the time, then `delete`: HEAD + HEAD + DELETE), on identical movies in the same run.

    python benchmarks/bench_gc_s3.py [--quick | --smoke]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from _common import machine, size_parser, table  # noqa: E402

from movie_assets.lifecycle.gc import GarbageCollector  # noqa: E402
from movie_assets.store.base import Backend  # noqa: E402
from movie_assets.store.blobs import BlobStore  # noqa: E402
from movie_assets.store.s3 import S3Backend  # noqa: E402
from movie_assets_tests.servers import MotoS3  # noqa: E402

DAY = 86400.0


def sweep_seconds(storage, movie: str, blobs: int, batched: bool) -> tuple[float, int]:
    """Seconds of a GC that sweeps `blobs` orphans, and how many it freed."""
    store = BlobStore(storage.movie(movie))
    for i in range(blobs):
        store.put(f"{movie} blob {i}".encode())
    collector = GarbageCollector(storage.movie(movie), clock=lambda: time.time() + 2 * DAY)  # every blob is old
    batch_path = S3Backend.delete_unless_newer
    if not batched:
        S3Backend.delete_unless_newer = Backend.delete_unless_newer  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        report = collector.collect(grace_seconds=DAY)
        return time.perf_counter() - start, report.files_freed
    finally:
        S3Backend.delete_unless_newer = batch_path  # type: ignore[method-assign]


def main() -> None:
    parser = size_parser(__doc__)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    blobs = 40 if args.smoke else 500 if args.quick else 3000
    server = MotoS3()
    try:
        storage = server.storage()
        per_file, freed_a = sweep_seconds(storage, "per-file", blobs, batched=False)
        batched, freed_b = sweep_seconds(storage, "batched", blobs, batched=True)
    finally:
        server.stop()
    assert freed_a == freed_b == blobs, (freed_a, freed_b, blobs)
    table(
        f"GC sweep of {blobs:,} orphan blobs on S3 (moto over HTTP on loopback), seconds",
        ["path", "seconds", "ms per blob", "vs per-file"],
        [
            ["per file: HEAD for the time, then delete (HEAD + DELETE)", per_file, per_file / blobs * 1000, 1.0],
            ["batched: HEAD for the time, one DeleteObjects", batched, batched / blobs * 1000, batched / per_file],
        ],
    )


if __name__ == "__main__":
    main()
