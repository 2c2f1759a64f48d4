"""SIGKILL loops over migrate and gc: after every kill the store verifies, and a final uninterrupted
run converges (migration complete, garbage gone, every revision intact)."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import statistics
import time
from pathlib import Path

from movie_assets.lifecycle.gc import GarbageCollector
from movie_assets.lifecycle.history import verify
from movie_assets.lifecycle.migrate import Migrator
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets.store.config import StorageConfig
from movie_assets.store.manifests import ManifestService
from movie_assets.store.storage import StorageContext

FIXTURE = Path(__file__).parents[1] / "fixtures" / "legacy-film"


def _fs(root: str, movie: str):
    return StorageContext(StorageConfig.from_url(root)).movie(movie)


def _migrate_child(root: str, movie: str) -> None:
    Migrator(_fs(root, movie)).migrate(FIXTURE)
    os._exit(0)


def _gc_child(root: str, movie: str) -> None:
    GarbageCollector(_fs(root, movie)).collect(grace_seconds=0)
    os._exit(0)


def _span(target, root: str, movie: str) -> float:
    """How long one uninterrupted run takes, so the kills land anywhere inside one."""
    child = mp.get_context("fork").Process(target=target, args=(root, movie))
    started = time.monotonic()
    child.start()
    child.join()
    return max(time.monotonic() - started, 0.02)


def _run_and_kill(target, root: str, movie: str, span: float, rng: random.Random) -> bool:
    """Start `target` in a forked child and SIGKILL it at a random moment; True if it was killed."""
    child = mp.get_context("fork").Process(target=target, args=(root, movie))
    child.start()
    deadline = time.monotonic() + rng.uniform(0, span)
    while child.is_alive() and time.monotonic() < deadline:
        time.sleep(0.001)
    killed = child.is_alive()
    if killed:
        os.kill(child.pid, signal.SIGKILL)
    child.join()
    return killed


def test_sigkilled_migrations_always_verify_and_a_rerun_completes(tmp_path):
    root, rng = str(tmp_path / "builds"), random.Random(11)
    # the median of three probes: one probe in a busy moment made most kills land after the run ended
    span = statistics.median(_span(_migrate_child, root, f"probe-{k}") for k in range(3))
    kills = 0
    for i in range(25):
        movie = f"harbour-{i}"
        kills += _run_and_kill(_migrate_child, root, movie, span, rng)
        fs = _fs(root, movie)
        assert verify(fs).ok, (i, verify(fs).problems)
        Migrator(fs).migrate(FIXTURE)  # the rerun finishes whatever the killed one left
        assert ManifestService(fs).published() == ["rev-0001", "rev-0002", "rev-0003"], i
        assert verify(fs).ok
    assert kills >= 8, "most runs were killed part-way"


def test_sigkilled_collections_always_verify_and_a_rerun_sweeps_the_rest(tmp_path):
    root, rng = str(tmp_path / "builds"), random.Random(12)
    storage = StorageContext(StorageConfig.from_url(root))
    store = MovieStore(storage, "film")
    store.init(load_builtin("audio-only"), {"Title": "Kill the collector", "NumOfSegments": 2})
    assert store.regenerate(default_registry()).committed
    garbage: list[str] = []

    def litter(n: int) -> None:
        garbage.extend(store.blobs.put(f"abandoned take {len(garbage)}".encode() * 50).hash for _ in range(n))

    litter(300)
    span = _span(_gc_child, root, "film")
    kills = 0
    for _ in range(20):
        litter(300)
        kills += _run_and_kill(_gc_child, root, "film", span, rng)
        assert verify(store.fs).ok, verify(store.fs).problems
    GarbageCollector(store.fs).collect(grace_seconds=0)
    assert not any(store.blobs.has(h) for h in garbage)
    assert verify(store.fs).ok
    assert kills >= 5
