"""GC: sweeps only unreferenced old files, keeps failed runs' results, never loses a blob to a concurrent writer."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import time
from pathlib import Path

from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.lifecycle.gc import GarbageCollector
from movie_assets.lifecycle.history import verify
from movie_assets.store.blobs import BlobStore, blob_path
from movie_assets.store.config import StorageConfig
from movie_assets.store.events import FileEventLog
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import ArtefactEvent, utc_now
from movie_assets.store.storage import StorageContext

from ..helpers import CountingProduce
from .common import HOUR, later, small_movie

FIXTURE = Path(__file__).parents[1] / "fixtures" / "legacy-film"


# ---- GC ----------------------------------------------------------------------------------------------


def test_gc_sweeps_only_unreferenced_old_files(storage):
    store = small_movie(storage)
    orphan = store.blobs.put(b"bytes nobody references", "text/plain")
    storage.movie("film").write_atomic("prompts/orphan.txt", b"a prompt of a run that never committed")
    storage.movie("film").write_atomic("artifacts/text/orphan/text.txt", b"a script of a run that never committed")
    store.edit({"SegmentText[1]": "changed"})
    assert store.regenerate(CountingProduce()).committed
    referenced_before = verify(storage.movie("film"))
    assert referenced_before.ok, referenced_before.problems

    young = GarbageCollector(storage.movie("film"), store.events).collect(grace_seconds=HOUR)
    assert young.files_freed == 0 and young.kept_young >= 2

    dry = GarbageCollector(storage.movie("film"), store.events, clock=later(2 * HOUR)).collect(HOUR, dry_run=True)
    assert blob_path(orphan.hash) in dry.freed and "prompts/orphan.txt" in dry.freed
    assert "artifacts/text/orphan/text.txt" in dry.freed
    assert not any(f.startswith("artifacts/text/segment-") for f in dry.freed), "live text copies are kept"
    assert store.blobs.has(orphan.hash), "a dry run deletes nothing"

    report = GarbageCollector(storage.movie("film"), store.events, clock=later(2 * HOUR)).collect(HOUR)
    assert sorted(report.freed) == sorted(dry.freed)
    assert report.bytes_freed >= orphan.size and not store.blobs.has(orphan.hash)
    after = verify(storage.movie("film"))
    assert after.ok, after.problems  # every revision is still complete
    assert after.blobs_checked == referenced_before.blobs_checked
    again = GarbageCollector(storage.movie("film"), store.events, clock=later(2 * HOUR)).collect(HOUR)
    assert again.files_freed == 0


def test_gc_keeps_results_of_a_failed_run_for_reuse(local_storage):
    store = small_movie(local_storage)
    store.edit({"SegmentText[0]": "new text", "SegmentText[1]": "other text"})
    produce = CountingProduce(fail_always={"segment-0001/narration"})
    assert not store.regenerate(produce).committed
    GarbageCollector(local_storage.movie("film"), store.events, clock=later(2 * HOUR)).collect(HOUR)
    retry = CountingProduce()
    assert store.regenerate(retry).committed
    assert retry.calls["segment-0000/narration"] == 0, "the failed run's result survived GC and was reused"
    assert verify(local_storage.movie("film")).ok


def test_reuse_after_gc_reruns_instead_of_referencing_a_swept_blob(local_storage):
    store = small_movie(local_storage)
    store.edit({"SegmentText[1]": "version B"})
    assert store.regenerate(CountingProduce()).committed
    store.edit({"SegmentText[1]": ""})  # back to rev-0001's value: its result is in the archived log
    plan = store.plan()
    assert "segment-0001/narration" in plan.reused
    # sweep the old blob as if no manifest kept it (rollback target gone): simulate by deleting rev-0001
    old = ManifestService(local_storage.movie("film")).load("rev-0001")
    blob = old.artefacts["segment-0001/narration/audio"].blob
    local_storage.movie("film").delete(blob_path(blob.hash))
    plan = store.plan()
    assert "segment-0001/narration" not in plan.reused
    assert "segment-0001/narration" in plan.job_ids


def _dedup_writer(root: str, hashes_file: str, acked_file: str, go_file: str) -> None:
    """Re-put old orphan blobs (dedup hits) and fresh ones, logging a result for each (like a run)."""
    storage = StorageContext(StorageConfig.from_url(root))
    blobs = BlobStore(storage.movie("film"))
    events = FileEventLog(storage.movie("film"))
    payloads = json.loads(Path(hashes_file).read_text())
    Path(acked_file).touch()
    while not os.path.exists(go_file):  # start together with the collector
        time.sleep(0.001)
    with open(acked_file, "a") as acked:
        for i, text in enumerate(payloads):
            data = text.encode() if i % 4 else f"fresh {i} {os.getpid()}".encode()
            ref = blobs.put(data, "text/plain")
            events.append_artefact(
                ArtefactEvent(
                    id="pending",
                    job_id=f"writer/{i}",
                    artefact_id=f"writer/{i}/out",
                    producer="writer",
                    producer_version="1",
                    inputs_hash=ref.hash,
                    status="succeeded",
                    output=ref,
                    revision="rev-0002",
                    created_at=utc_now(),
                )
            )
            acked.write(ref.hash + "\n")
            acked.flush()


def test_gc_never_loses_a_blob_a_concurrent_run_references(tmp_path):
    storage = StorageContext(StorageConfig.from_url(str(tmp_path / "builds")))
    small_movie(storage)
    blobs = BlobStore(storage.movie("film"))
    payloads = [f"orphan payload {i}" for i in range(3000)]
    past = time.time() - 2 * HOUR
    for text in payloads:
        ref = blobs.put(text.encode(), "text/plain")
        os.utime(storage.movie("film").resolve(blob_path(ref.hash)), (past, past))
    revived = payloads[1::2]
    random.Random(7).shuffle(revived)  # the writer revives half, in an order unrelated to the sweep's
    (tmp_path / "payloads.json").write_text(json.dumps(revived))
    acked, go = tmp_path / "acked.txt", tmp_path / "go"
    writer = mp.get_context("spawn").Process(
        target=_dedup_writer, args=(str(tmp_path / "builds"), str(tmp_path / "payloads.json"), str(acked), str(go))
    )
    writer.start()
    deadline = time.monotonic() + 60
    while not acked.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    freed = 0
    while writer.is_alive():
        freed += GarbageCollector(storage.movie("film")).collect(grace_seconds=HOUR).files_freed
    writer.join()
    assert writer.exitcode == 0
    freed += GarbageCollector(storage.movie("film")).collect(grace_seconds=HOUR).files_freed
    referenced = set(acked.read_text().split())
    assert len(referenced) == len(revived)
    missing = [h for h in referenced if not blobs.has(h)]
    assert not missing, f"{len(missing)} blobs referenced by logged results were swept"
    assert freed >= 1500, "the orphans nobody revived were swept"
    assert verify(storage.movie("film")).ok


def test_gc_and_migrate_cli(tmp_path):
    root = str(tmp_path / "builds")
    runner = CliRunner()
    result = runner.invoke(app, ["--root", root, "migrate", str(FIXTURE), "harbour"])
    assert result.exit_code == 0, result.output
    assert "3 revisions created" in result.output
    result = runner.invoke(app, ["--root", root, "gc", "harbour", "--grace", "0"])
    assert result.exit_code == 0 and "freed 0 files" in result.output, result.output
    result = runner.invoke(app, ["--root", root, "history", "harbour"])
    assert result.exit_code == 0 and "rev-0003" in result.output
    result = runner.invoke(app, ["--root", root, "gc", "nobody"])
    assert result.exit_code == 2 and "no movie" in result.output
    result = runner.invoke(app, ["--root", root, "gc", "..", "--dry-run"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["--root", root, "migrate", str(tmp_path / "nowhere"), "x"])
    assert result.exit_code == 2 and "not a directory" in result.output
