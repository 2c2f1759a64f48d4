"""Planner time on generated graphs of 1k / 10k / 50k artefacts with a 100k-line input log tail,
against Dagster's own stale-status computation for the same graph.

    python benchmarks/bench_planner.py [--quick]

The movie's manifest covers the whole graph, and its artefact log holds the result of every job that
made it (one line per artefact, as the runs logged them); the tail holds 100k edits of random segments
(the planner folds them, then decides per job). A plan "again" is timed after one more edit is
appended, as a sensor plans after each new edit: a long-lived process reads only what the log gained,
and lists again only blob folders that changed (it first waits until the blob folders it just wrote
are settled, as those of a movie whose blobs earlier runs wrote are).
Dagster gets the same graph as assets with one observed source asset per input and one
materialisation per asset, then one input observation changes and `CachingStaleStatusResolver`
computes every asset's status (what the UI does to show STALE). Dagster's side is measured up to 10k
artefacts; setting up 50k materialisations in its SQLite event log alone takes longer than this
whole benchmark.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, size_parser, synthetic_blueprint, synthetic_manifest, table, timed  # noqa: E402

from movie_assets.movie import BLUEPRINT_FILE, MovieStore
from movie_assets.pipeline.incremental import unmatched_jobs
from movie_assets.store.blobs import BlobStore
from movie_assets.store.config import StorageConfig
from movie_assets.store.events import ARTEFACTS_LOG, INPUTS_LOG, FileEventLog, new_input_event
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import ArtefactEvent
from movie_assets.store.storage import StorageContext


def build_movie(root: str, segments: int, tail: int, seed: int = 1) -> MovieStore:
    storage = StorageContext(StorageConfig.from_url(root))
    blueprint = synthetic_blueprint()
    inputs = {"NumOfSegments": segments, **{f"SegmentText[{i}]": f"text {i}" for i in range(segments)}}
    manifest = synthetic_manifest("bench", blueprint, inputs)
    storage.movie("bench").write_if_absent(BLUEPRINT_FILE, blueprint.to_yaml().encode())
    ManifestService(storage.movie("bench")).save_manifest(manifest, None)
    # the outputs exist, as in a real movie: a blob missing from the store makes its job dirty
    blobs = BlobStore(storage.movie("bench"))
    results = []
    for job_id, record in manifest.jobs.items():
        for artefact_id, blob in record.outputs.items():
            blobs.put(f"{record.inputs_hash}/{artefact_id}".encode())
            fields = {"job_id": job_id, "producer": record.producer, "producer_version": record.producer_version}
            event = ArtefactEvent(
                id=f"{len(results) + 1:012d}",
                artefact_id=artefact_id,
                inputs_hash=record.inputs_hash,
                status="succeeded",
                output=blob,
                revision=manifest.revision,
                cost=0.01,
                duration_s=0.5,
                created_at=manifest.created_at,
                **fields,
            )
            results.append(event.canonical() + b"\n")
    storage.movie("bench").write_atomic(ARTEFACTS_LOG, b"".join(results))
    rng = random.Random(seed)
    lines = []
    for seq in range(1, tail + 1):
        i = rng.randrange(segments)
        event = new_input_event(f"SegmentText[{i}]", f"edit {seq} of {i}", "bench", event_id=f"{seq:012d}")
        lines.append(event.canonical() + b"\n")
    storage.movie("bench").write_atomic(INPUTS_LOG, b"".join(lines))
    store = MovieStore(storage, "bench", FileEventLog(storage.movie("bench")))
    # the graph, baseline and results, stored as the commit that made this manifest stores them
    graph = store.manifest_graph(manifest)
    store.graphs.save(graph)
    store.graphs.save_unmatched(store.current()[1], graph.shape, unmatched_jobs(graph, manifest))
    store.checkpoints.keep_results(store.events)
    return store


_FRESH = """
import sys, time
from movie_assets.movie import MovieStore
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext
store = MovieStore(StorageContext(StorageConfig.from_url(sys.argv[1])), "bench")
start = time.perf_counter()
store.plan()
print(time.perf_counter() - start)
"""


def fresh_process_seconds(root: str, runs: int = 3) -> float:
    """Median seconds of plan() as the first call of a new process (the CLI's case), imports excluded."""
    times = sorted(
        float(subprocess.run([sys.executable, "-c", _FRESH, root], check=True, capture_output=True, text=True).stdout)
        for _ in range(runs)
    )
    return times[len(times) // 2]


def settle_blob_folders(store: MovieStore) -> None:
    """Wait until no blob folder changed for the local driver's settling time, as for a movie whose blobs
    earlier runs wrote (a folder changed in the last seconds is listed again at every plan)."""
    from movie_assets.store.local_listing import SETTLED_NS

    root = store.fs.resolve("blobs")
    newest = max(os.stat(folder).st_mtime_ns for folder, _, _ in os.walk(root))
    time.sleep(max(0, SETTLED_NS - (time.time_ns() - newest)) / 1e9 + 0.1)


def again_seconds(store: MovieStore, key: str, repeat: int = 3) -> tuple[float, object]:
    """Median seconds of plan() in a process that planned before, each time after one more edit of `key`
    is appended: a sensor's tick. (Planning an unchanged movie again would only measure what it kept.)"""
    settle_blob_folders(store)
    store.plan()
    samples, plan = [], None
    for i in range(repeat):
        store.events.append_input(key, f"one more edit {i}")
        start = time.perf_counter()
        plan = store.plan()
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2], plan


def floor_seconds(store: MovieStore, jobs: int) -> float:
    """What any planner of this movie must do, at C speed: decode the live manifest, the artefact log and
    the input log's tail (msgspec, no models) and sha256 one small signature payload per job."""
    import hashlib

    import msgspec

    manifest = store.fs.read(store.manifests.load_pointer().manifest)
    tail = store.fs.read(INPUTS_LOG)
    results = store.fs.read(ARTEFACTS_LOG)
    payload = b'{"deps":[["text[0]=SegmentText[1]","' + b"0" * 64 + b'"]],"indices":{"segment":1},"producer":"x"}'

    def floor() -> None:
        msgspec.json.decode(manifest)
        msgspec.json.Decoder().decode_lines(tail)
        msgspec.json.Decoder().decode_lines(results)
        for _ in range(jobs):
            hashlib.sha256(payload).hexdigest()

    return timed(floor, 3)[0]


def dagster_stale_seconds(segments: int) -> tuple[float, int]:
    """Median seconds for Dagster to compute the stale status of every asset, and how many are STALE."""
    import dagster as dg
    from dagster._core.definitions.data_version import (
        CODE_VERSION_TAG,
        DATA_VERSION_TAG,
        CachingStaleStatusResolver,
        StaleStatus,
        get_input_data_version_tag,
        get_input_event_pointer_tag,
    )
    from dagster._core.loader import LoadingContextForTest

    sources = [dg.AssetSpec(["in", f"t{i}"]) for i in range(segments)]
    specs = []
    for i in range(segments):
        specs.append(dg.AssetSpec(["script", f"s{i}"], deps=[["in", f"t{i}"]], code_version="1"))
        specs.append(dg.AssetSpec(["narration", f"s{i}"], deps=[["script", f"s{i}"]], code_version="1"))
    specs.append(dg.AssetSpec(["timeline"], deps=[["narration", f"s{i}"] for i in range(segments)], code_version="1"))

    @dg.multi_asset(specs=specs, can_subset=True)
    def producers(context):  # never run: the materialisations are reported below
        yield from ()

    with dg.instance_for_test() as instance:
        defs = dg.Definitions(assets=[*sources, producers])
        graph = defs.resolve_asset_graph()
        pointers: dict = {}

        def report(key, deps=()):
            tags = {DATA_VERSION_TAG: "v1"}
            if deps:  # provenance, as a real materialisation records it: code version + inputs consumed
                tags[CODE_VERSION_TAG] = "1"
                for dep in deps:
                    tags[get_input_data_version_tag(dep)] = "v1"
                    tags[get_input_event_pointer_tag(dep)] = str(pointers[dep])
            instance.report_runless_asset_event(dg.AssetMaterialization(key, tags=tags))
            pointers[key] = instance.fetch_materializations(key, limit=1).records[0].storage_id

        for spec in sources:
            report(spec.key)
        for spec in specs:
            report(spec.key, [d.asset_key for d in spec.deps])
        instance.report_runless_asset_event(
            dg.AssetMaterialization(sources[0].key, tags={DATA_VERSION_TAG: "v2"})
        )  # one input edited

        def compute() -> int:
            resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))
            return sum(resolver.get_status(s.key) == StaleStatus.STALE for s in specs)

        return timed(compute, 3 if segments <= 500 else 1)  # one 10k-artefact pass takes minutes


def main() -> None:
    parser = size_parser(__doc__, "tiny sizes, no Dagster comparison (CI)")
    parser.add_argument("--tail", type=int, default=100_000)
    parser.add_argument(
        "--dagster-limit", type=int, default=None, help="largest segment count Dagster is measured at (0: never)"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    sizes = [50] if args.smoke else [500, 5_000] if args.quick else [500, 5_000, 25_000]
    dagster_limit = args.dagster_limit if args.dagster_limit is not None else (500 if args.quick else 5_000)
    dagster_limit = 0 if args.smoke else dagster_limit
    tail = 200 if args.smoke else 10_000 if args.quick else args.tail
    rows = []
    for segments in sizes:
        artefacts = 2 * segments + 1
        with tempfile.TemporaryDirectory() as tmp:
            store = build_movie(tmp, segments, tail)
            cold_tail = fresh_process_seconds(tmp)
            t_tail, plan = again_seconds(store, "SegmentText[0]")
            dirty_tail = len(plan.jobs)
            floor = floor_seconds(store, artefacts)
        with tempfile.TemporaryDirectory() as tmp:
            store = build_movie(tmp, segments, 1)
            cold_one = fresh_process_seconds(tmp)
            t_one, plan = again_seconds(store, next(store.events.stream_inputs()).key)
            dirty_one = len(plan.directly_dirty)
        if segments <= dagster_limit:
            t_dagster, stale = dagster_stale_seconds(segments)
        else:
            t_dagster, stale = None, None
        rows.append(
            [
                f"{artefacts:,}",
                floor,
                cold_tail,
                t_tail,
                t_tail / floor,
                dirty_tail,
                cold_one,
                t_one,
                dirty_one,
                t_dagster if t_dagster is not None else "n/a",
                stale if stale is not None else "n/a",
                t_dagster / t_one if t_dagster is not None else "n/a",
            ]
        )
    table(
        f"planner (with a {tail:,}-line input tail, and with one edit) vs Dagster stale status after one edit; "
        "median of 3, seconds; 'first' = the first plan() of a new process (what the CLI pays), 'again' = a "
        "later plan() in the same process after one more edit was appended (a Dagster sensor's tick, a regenerate; "
        "blob folders settled); "
        "the floor decodes everything from scratch",
        [
            "artefacts",
            "floor (decode + hash)",
            "plan, tail, first",
            "plan, tail, again",
            "again / floor",
            "dirty jobs",
            "plan, 1 edit, first",
            "plan, 1 edit, again",
            "directly dirty",
            "Dagster stale status",
            "Dagster STALE",
            "Dagster / planner (1 edit)",
        ],
        rows,
    )


if __name__ == "__main__":
    start = time.monotonic()
    main()
    print(f"\n(total {time.monotonic() - start:.0f}s)")
