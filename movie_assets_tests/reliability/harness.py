"""Crash-consistency and race harness shared by the reliability tests and benchmarks/crash_loop.py.

A real regenerate + commit runs in a forked child that is SIGKILLed at a random moment; after each
kill the store must verify, current.json must name a complete manifest, and every event line whose
append returned (acknowledged, recorded by the child right after the append) must still be readable.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from movie_assets.errors import ManifestConflict
from movie_assets.lifecycle.history import verify
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets.store.config import StorageConfig
from movie_assets.store.events import FileEventLog
from movie_assets.store.models import ArtefactEvent
from movie_assets.store.storage import MovieFS, StorageContext

MOVIE = "crashy"
BLUEPRINT = "audio-only"
TEXTS = ["Waves.", "A gull calls twice.", "Rain on the tin roof.", "Quiet."]


class AckingEventLog(FileEventLog):
    """A file event log that records each id once its append has returned (the acknowledgement)."""

    def __init__(self, fs: MovieFS, ack_path: str) -> None:
        super().__init__(fs)
        self.ack_path = ack_path

    def _ack(self, event_id: str) -> None:
        fd = os.open(self.ack_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, f"{event_id}\n".encode())
        finally:
            os.close(fd)

    def append_inputs(self, values, edited_by="user"):
        events = super().append_inputs(values, edited_by)
        for event in events:
            self._ack(f"i{event.id}")
        return events

    def append_artefacts(self, events: list[ArtefactEvent]) -> list[ArtefactEvent]:
        stored = super().append_artefacts(events)
        for event in stored:
            self._ack(f"a{event.id}")
        return stored


def open_store(root: str, ack_path: str, movie: str = MOVIE, options: dict | None = None) -> MovieStore:
    """The crash movie's store; `options` are the storage driver's (an S3 endpoint)."""
    storage = StorageContext(StorageConfig.from_url(root, **(options or {})))
    return MovieStore(storage, movie, AckingEventLog(storage.movie(movie), ack_path))


def _regenerate_child(root: str, ack_path: str, options: dict | None = None) -> None:
    store = open_store(root, ack_path, options=options)
    try:
        store.regenerate(default_registry(), concurrency=2)
    except ManifestConflict:
        pass
    os._exit(0)


@dataclass
class CrashReport:
    kills: int = 0
    completed_before_kill: int = 0
    revisions: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def check_store(root: str, ack_path: str, options: dict | None = None) -> list[str]:
    """Problems with the store after a crash (empty list = consistent)."""
    store = open_store(root, ack_path, options=options)
    report = verify(store.storage.movie(MOVIE), store.events)
    problems = list(report.problems)
    try:
        manifest, _ = store.current()
    except Exception as exc:  # noqa: BLE001 - any failure to load the live revision is the finding
        return [*problems, f"current revision does not load: {exc}"]
    if manifest.revision.number and not manifest.artefacts:
        problems.append(f"{manifest.revision} is live but empty")
    seen_inputs = [e.id for e in store.events.stream_inputs()]
    seen_artefacts = [e.id for e in store.events.stream_artefacts()]
    for name, ids in (("input", seen_inputs), ("artefact", seen_artefacts)):
        if len(ids) != len(set(ids)):
            problems.append(f"an {name} line is readable twice")
    seen = {f"i{i}" for i in seen_inputs} | {f"a{i}" for i in seen_artefacts}
    acked = set(Path(ack_path).read_text().split()) if os.path.exists(ack_path) else set()
    lost = sorted(acked - seen)
    if lost:
        problems.append(f"{len(lost)} acknowledged event lines are gone, e.g. {lost[:3]}")
    return problems


def crash_loop(
    workdir: Path,
    iterations: int,
    seed: int = 0,
    check_every: int = 1,
    root: str | None = None,
    options: dict | None = None,
) -> CrashReport:
    """Edit, start a regenerate in a forked child, SIGKILL it at a random moment; check after each kill.
    The store is under `workdir` unless `root` (with the driver's `options`) names another."""
    rng = random.Random(seed)
    root, ack = root or str(workdir / "builds"), str(workdir / "acked.txt")
    store = open_store(root, ack, options=options)
    if not store.exists():
        store.init(load_builtin(BLUEPRINT), {"Title": "Crash test", "NumOfSegments": 2, "Duration": 5})
    ctx = mp.get_context("fork")
    report = CrashReport()
    started = time.monotonic()
    # how long an uninterrupted run of one edit takes (after the first build, which takes longer), so
    # kills land anywhere inside one
    for edit in (False, True):
        if edit:
            store.edit({"SegmentText[0]": rng.choice(TEXTS)})
        probe = ctx.Process(target=_regenerate_child, args=(root, ack, options))
        t0 = time.monotonic()
        probe.start()
        probe.join()
    span = max(time.monotonic() - t0, 0.05)
    for k in range(iterations):
        store.edit({f"SegmentText[{rng.randrange(2)}]": rng.choice(TEXTS)})
        child = ctx.Process(target=_regenerate_child, args=(root, ack, options))
        t0 = time.monotonic()
        child.start()
        deadline = t0 + rng.uniform(0, span)
        while child.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
            report.kills += 1
        else:
            report.completed_before_kill += 1
            span = min(span, time.monotonic() - t0)  # the shortest whole run: the next kill lands inside
        child.join()
        if (k + 1) % check_every == 0 or k == iterations - 1:
            found = check_store(root, ack, options)
            report.problems += [f"after iteration {k}: {p}" for p in found]
            if found:
                break
    report.revisions = open_store(root, ack, options=options).current()[0].revision.number
    report.seconds = time.monotonic() - started
    return report


def converge(root: str, ack_path: str, attempts: int = 5, options: dict | None = None) -> MovieStore:
    """Regenerate until nothing is left to do (a killed run may leave work for more than one pass)."""
    store = open_store(root, ack_path, options=options)
    for _ in range(attempts):
        outcome = store.regenerate(default_registry(), concurrency=2)
        if not outcome.plan.has_changes():
            return store
    raise AssertionError("regenerate did not converge")


def clean_build(root: str, inputs: dict, movie: str = "clean") -> MovieStore:
    """The same inputs built from scratch in a fresh movie, as the reference for convergence."""
    storage = StorageContext(StorageConfig.from_url(root))
    store = MovieStore(storage, movie)
    # a manifest records a model pick as `@model:<producer>`; a new movie takes it as `<producer>.model`
    picks = {f"{k.removeprefix('@model:')}.model" if k.startswith("@model:") else k: v for k, v in inputs.items()}
    store.init(load_builtin(BLUEPRINT), picks)
    assert store.regenerate(default_registry(), concurrency=2).committed
    return store


def _race_child(root: str, barrier, results) -> None:
    storage = StorageContext(StorageConfig.from_url(root))
    store = MovieStore(storage, MOVIE)
    plan = store.plan()
    barrier.wait()
    try:
        run = store.run(plan, default_registry(), concurrency=1)
        store.commit(run)
        results.put(("committed", os.getpid(), plan.manifest_base_hash))
    except ManifestConflict as exc:
        results.put(("conflict", os.getpid(), str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a finding
        results.put(("error", os.getpid(), repr(exc)))
    results.close()
    results.join_thread()  # flush the queue's feeder thread before _exit
    os._exit(0)


def race(root: str, writers: int) -> list[tuple]:
    """`writers` processes plan on the same base, then run and commit at once."""
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(writers), ctx.Queue()
    procs = [ctx.Process(target=_race_child, args=(root, barrier, results)) for _ in range(writers)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join()
    return outcomes
