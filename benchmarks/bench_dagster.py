"""The Dagster face at scale: definitions load, sensor ticks (first sight, idle, one edit) for 1, 100
and 1,000 movies, what a step costs to start in the multiprocess executor, and the loop a user sees in
a real `dagster dev`: an edit (and a new movie) until `current.json` swaps, against the CLI's
`regenerate` of the same change as the floor.

    python benchmarks/bench_dagster.py [--quick]      (BENCH_DEV_TRACE=1 prints the edit's run, stage by stage)
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import dagster as dg  # noqa: E402
from _common import machine, size_parser, table, timed  # noqa: E402

from movie_assets.movie import MovieStore  # noqa: E402
from movie_assets.orchestration import EventLogResource, StorageResource, build_definitions  # noqa: E402
from movie_assets.orchestration.keys import input_key
from movie_assets.pipeline.blueprint.load import load_builtin  # noqa: E402
from movie_assets.pipeline.blueprint.shape import asset_group  # noqa: E402
from movie_assets.store.config import StorageConfig  # noqa: E402
from movie_assets.store.storage import StorageContext  # noqa: E402

STEPS = ("story", "script", "narration")


def _movies(root: str, count: int) -> StorageContext:
    storage = StorageContext(StorageConfig(root=root))
    blueprint = load_builtin("audio-only")
    for i in range(count):
        MovieStore(storage, f"film-{i:04d}").init(blueprint, {"Title": f"Film {i}", "NumOfSegments": 2})
    return storage


def scale(count: int) -> list[object]:
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        root = f"{tmp}/builds"
        storage = _movies(root, count)
        resources = {"storage": StorageResource(url=root), "events": EventLogResource()}
        load, defs = timed(
            lambda: build_definitions(storage=resources["storage"], events=resources["events"]), repeat=3
        )
        sensor = defs.resolve_sensor_def("movie_sensor")
        cursor = None

        def tick():
            nonlocal cursor
            result = sensor(
                dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor, definitions=defs)
            )
            cursor = result.cursor
            return result

        start, ticks, requested = time.perf_counter(), 0, 0
        while True:  # first sight spreads over ticks of at most 50 movies each
            result = tick()
            ticks += 1
            requested += len(result.run_requests)
            if requested >= count:
                break
        first = time.perf_counter() - start
        idle, _ = timed(tick, repeat=3)
        MovieStore(storage, "film-0000").edit({"SegmentText[1]": "An edit."})
        edit, result = timed(tick, repeat=1)
        assert len(result.run_requests) == 1
        return [count, load, first, ticks, idle, edit]


def first_sight_by_storage(count: int) -> list[list[object]]:
    """One first-sight tick over `count` new movies with Dagster's local SQLite storage and with the
    production form, PostgreSQL (a throwaway cluster on loopback, fsync on as a real server runs)."""
    from movie_assets_tests.servers import PostgresCluster

    rows = []
    try:
        cluster = PostgresCluster(fsync=True)
    except RuntimeError as exc:  # no server binaries here: the SQLite row alone
        cluster, unavailable = None, str(exc)
    try:
        postgres = cluster.dagster_storage() if cluster else None
        for name, overrides in (("SQLite (default)", None), ("PostgreSQL", postgres)):
            if name == "PostgreSQL" and cluster is None:
                rows.append([f"PostgreSQL: {unavailable}", count, "n/a", "n/a", "n/a"])
                continue
            with (
                tempfile.TemporaryDirectory() as tmp,
                dg.instance_for_test(overrides=overrides, temp_dir=tmp) as instance,
            ):
                root = f"{tmp}/builds"
                _movies(root, count)
                resources = {"storage": StorageResource(url=root), "events": EventLogResource()}
                defs = build_definitions(storage=resources["storage"], events=resources["events"])
                sensor = defs.resolve_sensor_def("movie_sensor")
                start = time.perf_counter()
                sensor(dg.build_sensor_context(instance=instance, resources=resources, definitions=defs))
                seconds = time.perf_counter() - start
                title = input_key(asset_group("audio-only"), "Title")
                events = len(instance.fetch_observations(title, 10_000).records)
                rows.append([name, count, seconds, seconds / count, events])
    finally:
        if cluster is not None:
            cluster.stop()
    return rows


def step_start(quick: bool) -> list[list[object]]:
    """One movie's three steps (story, script, narration) in process vs in the multiprocess executor."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        root = f"{tmp}/builds"
        os.environ["MOVIE_ASSETS_ROOT"] = root
        _movies(root, 2)  # one fresh movie per executor, so neither run is a reuse
        defs = build_definitions()
        graph = defs.resolve_asset_graph()
        instance.add_dynamic_partitions("audio_only_movies", ["film-0000", "film-0001"])
        keys = [dg.AssetKey(["audio_only", name]) for name in STEPS]
        assert all(graph.has(k) for k in keys)
        for name, executor in (("in process", dg.in_process_executor), ("multiprocess", dg.multiprocess_executor)):
            os.environ["MOVIE_ASSETS_DAGSTER_EXECUTOR"] = (
                "in_process" if executor is dg.in_process_executor else "multiprocess"
            )
            samples = []
            for movie in ("film-0000", "film-0001")[: 1 if quick else 2]:
                start = time.perf_counter()
                with dg.execute_job(
                    dg.reconstructable(_partition_job),
                    instance,
                    tags={"dagster/partition": movie},
                ) as result:
                    assert result.success
                samples.append(time.perf_counter() - start)
            rows.append([name, len(STEPS), min(samples), min(samples) / len(STEPS)])
    return rows


def _partition_job():
    defs = build_definitions()
    keys = [dg.AssetKey(["audio_only", name]) for name in STEPS]
    job = dg.define_asset_job("bench_partition", selection=keys)
    return dg.Definitions(
        assets=defs.assets, jobs=[job], resources=defs.resources, executor=defs.executor
    ).resolve_job_def("bench_partition")


def dev_loop(interval: int = 5) -> list[list[object]]:
    """A real `dagster dev` (multiprocess executor, the sensor every `interval` s): seconds from a CLI
    edit to Dagster's commit, and from a new movie's `init` to its first commit; beside each, the CLI's
    `regenerate` of the same change in a second root (the floor)."""
    from movie_assets.producers.registry import default_registry

    with tempfile.TemporaryDirectory() as tmp:
        roots = {name: f"{tmp}/{name}" for name in ("dagster", "cli")}
        stores = {name: MovieStore(StorageContext(StorageConfig(root=root)), "film") for name, root in roots.items()}
        blueprint = load_builtin("audio-only")
        for store in stores.values():
            store.init(blueprint, {"InquiryPrompt": "A fox in the snow", "NumOfSegments": 3})
            store.regenerate(default_registry())
        with _dagster_dev(Path(tmp), roots["dagster"], interval) as home:
            rows = []
            edit = {"SegmentText[1]": "The fox finds a new path."}
            start = time.perf_counter()
            stores["dagster"].edit(edit)
            _until(lambda: stores["dagster"].current()[0].revision == "rev-0002", 300, "the edit committed")
            through_dagster = time.perf_counter() - start
            stores["cli"].edit(edit)
            floor, _ = timed(lambda: stores["cli"].regenerate(default_registry()), repeat=1)
            rows.append(["edit one segment -> committed", through_dagster, floor, through_dagster / floor])
            if os.environ.get("BENCH_DEV_TRACE"):
                _trace(home, start)
            idea = {"InquiryPrompt": "A lighthouse keeper befriends a whale", "NumOfSegments": 3}
            new = MovieStore(StorageContext(StorageConfig(root=roots["dagster"])), "new-film")
            start = time.perf_counter()
            new.init(blueprint, idea)
            _until(lambda: new.current()[0].revision == "rev-0001", 300, "the new movie committed")
            through_dagster = time.perf_counter() - start
            other = MovieStore(StorageContext(StorageConfig(root=roots["cli"])), "new-film")
            other.init(blueprint, idea)
            floor, _ = timed(lambda: other.regenerate(default_registry()), repeat=1)
            rows.append(["new movie, 3 segments -> committed", through_dagster, floor, through_dagster / floor])
            return rows


@contextlib.contextmanager
def _dagster_dev(tmp: Path, root: str, interval: int):
    """`dagster dev` on `root` with the shipped instance config, up and past its first ticks; yields its home."""
    from movie_assets_tests.servers import DagsterDev

    server = DagsterDev(tmp, root, executor="multiprocess", interval=interval, timeout=240)
    try:
        time.sleep(interval * 3)  # the first ticks mirror what is built
        yield server.home
    finally:
        server.stop()


def _trace(home: Path, since: float) -> None:
    """Print when each stage of the latest run happened (seconds after the edit), to see where time goes."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs(limit=1)
        wall = time.time() - (time.perf_counter() - since)
        for record in instance.all_logs(run.run_id):
            kind = record.dagster_event.event_type_value if record.dagster_event else "log"
            print(f"{record.timestamp - wall:6.2f} {kind} {record.step_key or ''}")


def _until(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting: {what}")


def main() -> None:
    parser = size_parser(__doc__)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    sizes = [1, 3] if args.smoke else [1, 10] if args.quick else [1, 100, 1000]
    table(
        "Definitions load and sensor ticks vs number of movies (seconds)",
        ["movies", "definitions load", "first sight (all ticks)", "ticks", "idle tick", "tick after one edit"],
        [scale(n) for n in sizes],
    )
    table(
        "First sight by Dagster instance storage: one tick over new movies, each observed and requested",
        ["storage", "movies", "tick s", "s per movie", "Title observations"],
        first_sight_by_storage(3 if args.smoke else 10 if args.quick else 50),
    )
    table(
        "Step start-up: one movie, three steps (seconds)",
        ["executor", "steps", "run wall", "per step"],
        step_start(args.quick or args.smoke),
    )
    if not args.smoke:
        table(
            "Through a real `dagster dev` (multiprocess executor, sensor every 5 s) vs the CLI (seconds)",
            ["change", "through Dagster", "CLI regenerate (floor)", "ratio"],
            dev_loop(),
        )


if __name__ == "__main__":
    main()
