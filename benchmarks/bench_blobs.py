"""Blob put/get throughput against raw sha256 + file write/read on the same disk, and peak RSS of a
2 GiB streamed put.

    python benchmarks/bench_blobs.py [--quick]
"""

from __future__ import annotations

import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, size_parser, table, timed  # noqa: E402

from movie_assets.store.blobs import BlobStore
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext

MiB = 2**20


def raw_put(folder: Path, data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    path = folder / digest[:2] / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def raw_get(path: Path) -> bytes:
    data = path.read_bytes()
    hashlib.sha256(data).hexdigest()
    return data


class Stream:
    """A readable stream of `size` pseudo-random bytes that never holds more than one chunk."""

    def __init__(self, size: int, chunk: int = MiB) -> None:
        self.left, self.chunk, self.counter = size, chunk, 0

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        take = min(self.chunk if n < 0 else n, self.left)
        self.counter += 1
        block = hashlib.sha256(self.counter.to_bytes(8, "little")).digest() * (take // 32 + 1)
        self.left -= take
        return block[:take]


def rss_child(size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = BlobStore(StorageContext(StorageConfig.from_url(tmp)).movie("rss"))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ref = store.put(Stream(size))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"{before} {after} {ref.size}")


def main() -> None:
    parser = size_parser(__doc__, "tiny sizes: the script runs, figures mean nothing (CI)")
    parser.add_argument("--rss-child", type=int)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    print(f"machine: {machine()}")
    repeat = 1 if args.smoke else 3 if args.quick else 5
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        big, many = (8 * MiB, 200) if args.smoke else (64 * MiB, 5000)
        for label, size, count in ((f"{big // MiB} MiB blob", big, 1), (f"4 KiB blobs x {many}", 4096, many)):
            payloads = [os.urandom(size) for _ in range(count)] if count > 1 else [os.urandom(size)]
            total = size * count

            def ours_put(run=[0], payloads=payloads):  # noqa: B006 - a fresh root per repetition
                run[0] += 1
                store = BlobStore(StorageContext(StorageConfig.from_url(f"{tmp}/ours{run[0]}")).movie("m"))
                return [store.put(p) for p in payloads]

            def baseline_put(run=[0], payloads=payloads):  # noqa: B006
                run[0] += 1
                folder = Path(tmp) / f"raw{run[0]}"
                for p in payloads:
                    raw_put(folder, p)

            # interleaved, so page-cache writeback of one side does not land on the other's clock
            ours_s, raw_s, refs = [], [], None
            for _ in range(repeat):
                t_one, refs = timed(ours_put, 1)
                ours_s.append(t_one)
                raw_s.append(timed(baseline_put, 1)[0])
            t_ours, t_raw = statistics.median(ours_s), statistics.median(raw_s)
            store = BlobStore(StorageContext(StorageConfig.from_url(f"{tmp}/ours1")).movie("m"))
            t_get, _ = timed(lambda: [store.get(r) for r in refs], repeat)  # noqa: B023
            raw_paths = [Path(tmp) / "raw1" / r.hash[:2] / r.hash for r in refs]  # noqa: B023
            t_raw_get, _ = timed(lambda: [raw_get(p) for p in raw_paths], repeat)  # noqa: B023
            rows.append([label, "put", total / MiB / t_ours, total / MiB / t_raw, t_raw / t_ours])
            rows.append([label, "get (verified)", total / MiB / t_get, total / MiB / t_raw_get, t_raw_get / t_get])
    table(
        f"blob throughput, median of {repeat} (MiB/s; ratio = ours / raw sha256 + write-or-read)",
        ["payload", "operation", "movie_assets MiB/s", "raw MiB/s", "ratio"],
        rows,
    )
    size = (8 if args.smoke else 256 if args.quick else 2048) * MiB
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(size)], capture_output=True, text=True, check=True
    ).stdout.split()
    before, after, stored = (int(x) for x in out)
    table(
        "peak RSS of one streamed put",
        ["stream", "RSS before (MiB)", "peak RSS after (MiB)", "growth (MiB)"],
        [[f"{stored / MiB:.0f} MiB", before / 1024, after / 1024, (after - before) / 1024]],
    )


if __name__ == "__main__":
    main()
