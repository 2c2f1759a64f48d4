"""GC at grace 0s looping beside regenerate (which edits a segment each round): no committed revision
ever names a missing blob, on local disk and on S3 (moto's server)."""

from __future__ import annotations

import multiprocessing as mp
import os
import time

import pytest

from movie_assets.errors import BlobNotFound
from movie_assets.lifecycle.gc import GarbageCollector
from movie_assets.lifecycle.history import verify
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext
from movie_assets_tests.helpers import quick

MOVIE = "gcrace"


def _collector(url: str, options: dict, stop_file: str, count_file: str) -> None:
    fs = StorageContext(StorageConfig.from_url(url, **options)).movie(MOVIE)
    rounds = freed = 0
    while not os.path.exists(stop_file):
        freed += GarbageCollector(fs).collect(grace_seconds=0).files_freed
        rounds += 1
    with open(count_file, "w") as handle:
        handle.write(f"{rounds} {freed}")
    os._exit(0)


@pytest.mark.parametrize("driver,rounds", [("local", 25), ("s3", 6)])
def test_gc_at_grace_zero_beside_regenerate_never_loses_a_committed_blob(driver, rounds, tmp_path, request):
    if driver == "s3":
        server = request.getfixturevalue("moto_s3")
        url, options = f"s3://{server.new_bucket()}/movies", server.options()
    else:
        url, options = str(tmp_path / "builds"), {}
    storage = StorageContext(StorageConfig.from_url(url, **options))
    store = MovieStore(storage, MOVIE)
    store.init(load_builtin("audio-only"), quick(load_builtin("audio-only"), {"Title": "GC race", "NumOfSegments": 3}))
    stop, counts = tmp_path / "stop", tmp_path / "counts"
    collector = mp.get_context("spawn").Process(target=_collector, args=(url, options, str(stop), str(counts)))
    collector.start()
    committed, remade = 0, 0
    try:
        deadline = time.monotonic() + 240
        for i in range(rounds):
            store.blobs.put(f"output of an abandoned run {i}".encode(), "text/plain")  # garbage to sweep
            store.edit({f"SegmentText[{i % 3}]": f"take {i}: the sea, again"})
            try:
                outcome = store.regenerate(default_registry())
            except BlobNotFound:  # a sweep took a blob between run and commit: nothing was published
                remade += 1
                outcome = store.regenerate(default_registry())
            committed += outcome.committed
            report = verify(storage.movie(MOVIE))
            assert report.ok, f"round {i}: {report.problems}"
            assert time.monotonic() < deadline, "the loop is bounded in time"
    finally:
        stop.touch()
        collector.join(60)
    assert collector.exitcode == 0
    gc_rounds, freed = map(int, counts.read_text().split())
    assert committed >= rounds - remade and gc_rounds >= 2, (committed, gc_rounds)
    # every blob of every revision is still there, and the collector did sweep the abandoned outputs
    assert verify(storage.movie(MOVIE)).ok
    assert freed > 0
