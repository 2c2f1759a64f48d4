"""GC mark-and-sweep over 100 manifests x 10k artefacts and 200k blobs, against a raw walk + stat of
the same blob folders (the floor any mark has to pay) and, for the sweep, that walk plus a raw
stat + unlink of as many files written the same way (deleting is the disk's cost, not ours).

    python benchmarks/bench_gc.py [--quick]
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, size_parser, table  # noqa: E402

from movie_assets.lifecycle.gc import GarbageCollector
from movie_assets.store.blobs import blob_path
from movie_assets.store.config import StorageConfig
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import ArtefactEntry, BlobRef, Manifest, RevisionId, utc_now
from movie_assets.store.storage import StorageContext


def populate(root: str, blobs: int, manifests: int, artefacts: int) -> tuple[StorageContext, int]:
    storage = StorageContext(StorageConfig.from_url(root))
    base = Path(storage.movie("film").resolve())
    hashes = []
    old = time.time() - 7 * 86400
    for i in range(blobs):
        data = f"blob {i}".encode()
        digest = sha256_bytes(data)
        path = base / blob_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (old, old))
        hashes.append(digest)
    live = hashes[: blobs * 3 // 4]  # a quarter of the blobs are orphans
    rng = random.Random(3)
    service = ManifestService(storage.movie("film"))
    previous = None
    for r in range(1, manifests + 1):
        chosen = rng.sample(live, artefacts)
        manifest = Manifest(
            movie_id="film",
            revision=RevisionId.from_number(r),
            created_at=utc_now(),
            artefacts={
                f"job-{k}/out": ArtefactEntry(blob=BlobRef(hash=h, size=len(h)), job_id=f"job-{k}", inputs_hash=h)
                for k, h in enumerate(chosen)
            },
        )
        service.save_manifest(manifest, previous)
        previous = sha256_bytes(manifest.canonical())
    referenced = set()
    for r in range(1, manifests + 1):
        referenced |= {e.blob.hash for e in service.load(RevisionId.from_number(r)).artefacts.values()}
    return storage, blobs - len(referenced)


def raw_walk(folder: str) -> int:
    count = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            os.stat(os.path.join(dirpath, name))
            count += 1
    return count


def control_files(folder: str, count: int) -> list[str]:
    """`count` files written like the blobs (same sizes, two-hex folders, old mtimes), for the raw deletes."""
    old = time.time() - 7 * 86400
    paths = []
    for i in range(count):
        digest = sha256_bytes(f"control {i}".encode())
        path = os.path.join(folder, digest[:2], digest)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(f"blob {i}".encode())
        os.utime(path, (old, old))
        paths.append(path)
    return paths


def raw_deletes(paths: list[str]) -> float:
    """Seconds to stat and unlink each file, one by one: what deleting them costs this disk."""
    start = time.perf_counter()
    for path in paths:
        os.stat(path)
        os.unlink(path)
    return time.perf_counter() - start


def main() -> None:
    parser = size_parser(__doc__)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    blobs, manifests, artefacts = (20_000, 20, 2_000) if args.quick else (200_000, 100, 10_000)
    if args.smoke:
        blobs, manifests, artefacts = 500, 3, 100
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        storage, orphans = populate(tmp, blobs, manifests, artefacts)
        control = control_files(os.path.join(tmp, "control"), orphans)
        # written blocks reach the disk before anything is timed, as an old store's blobs have: deleting
        # a file whose blocks are allocated costs far more than deleting one still in the page cache
        os.sync()
        setup = time.perf_counter() - t0
        folder = storage.movie("film").resolve("blobs")
        walks = []
        for _ in range(3):
            t = time.perf_counter()
            raw_walk(folder)
            walks.append(time.perf_counter() - t)
        walk = sorted(walks)[1]
        dry = []
        for _ in range(3):
            t = time.perf_counter()
            report = GarbageCollector(storage.movie("film")).collect(grace_seconds=86400, dry_run=True)
            dry.append(time.perf_counter() - t)
        assert report.files_freed == orphans, (report.files_freed, orphans)
        t = time.perf_counter()
        swept = GarbageCollector(storage.movie("film")).collect(grace_seconds=86400)
        sweep = time.perf_counter() - t
        assert swept.files_freed == orphans
        deletes = raw_deletes(control)
    table(
        f"GC over {manifests} manifests x {artefacts:,} artefacts, {blobs:,} blobs (setup {setup:.0f}s)",
        ["phase", "seconds", "files", "vs raw walk+stat"],
        [
            ["raw os.walk + stat of blobs/ (median of 3)", walk, blobs, 1.0],
            ["gc --dry-run: mark + list (median of 3)", sorted(dry)[1], orphans, sorted(dry)[1] / walk],
            ["gc: mark + sweep (deletes)", sweep, swept.files_freed, sweep / walk],
            ["raw stat + unlink of as many files like them, one by one", deletes, orphans, deletes / walk],
            ["gc sweep vs raw walk + raw deletes", sweep, orphans, sweep / (walk + deletes)],
        ],
    )


if __name__ == "__main__":
    main()
