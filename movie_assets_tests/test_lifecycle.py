"""Lifecycle: GC (with a concurrent writer), rotation under a tight appender, checkpoints, migration,
history / diff / rollback / verify, metrics."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.core.blobs import BlobStore, blob_path
from movie_assets.core.blueprint import load_builtin
from movie_assets.core.checkpoints import Checkpoints, checkpoint_path
from movie_assets.core.events import FileEventLog
from movie_assets.core.gc import GarbageCollector
from movie_assets.core.history import diff, history, rollback, verify
from movie_assets.core.manifests import ManifestService
from movie_assets.core.metrics import load_metrics
from movie_assets.core.migrate import MigrationError, Migrator
from movie_assets.core.models import ArtefactEvent, utc_now
from movie_assets.core.movie import MovieStore
from movie_assets.core.storage import NotFound, StorageConfig, StorageContext

from .helpers import CountingProduce

FIXTURE = Path(__file__).parent / "fixtures" / "legacy-film"
HOUR = 3600.0


def small_movie(storage: StorageContext, movie: str = "film", segments: int = 2) -> MovieStore:
    store = MovieStore(storage, movie)
    store.init(load_builtin("audio-only"), {"Title": "Lifecycle", "NumOfSegments": segments})
    assert store.regenerate(CountingProduce()).committed
    return store


def later(seconds: float):
    return lambda: time.time() + seconds


# ---- GC ----------------------------------------------------------------------------------------------


def test_gc_sweeps_only_unreferenced_old_files(storage):
    store = small_movie(storage)
    orphan = store.blobs.put(b"bytes nobody references", "text/plain")
    storage.write_atomic("film", "prompts/orphan.txt", b"a prompt of a run that never committed")
    storage.write_atomic("film", "artifacts/text/orphan/text.txt", b"a script of a run that never committed")
    store.edit({"SegmentText[1]": "changed"})
    assert store.regenerate(CountingProduce()).committed
    referenced_before = verify(storage, "film")
    assert referenced_before.ok, referenced_before.problems

    young = GarbageCollector(storage, "film", store.events).collect(grace_seconds=HOUR)
    assert young.files_freed == 0 and young.kept_young >= 2

    dry = GarbageCollector(storage, "film", store.events, clock=later(2 * HOUR)).collect(HOUR, dry_run=True)
    assert blob_path(orphan.hash) in dry.freed and "prompts/orphan.txt" in dry.freed
    assert "artifacts/text/orphan/text.txt" in dry.freed
    assert not any(f.startswith("artifacts/text/segment-") for f in dry.freed), "live text copies are kept"
    assert store.blobs.has(orphan.hash), "a dry run deletes nothing"

    report = GarbageCollector(storage, "film", store.events, clock=later(2 * HOUR)).collect(HOUR)
    assert sorted(report.freed) == sorted(dry.freed)
    assert report.bytes_freed >= orphan.size and not store.blobs.has(orphan.hash)
    after = verify(storage, "film")
    assert after.ok, after.problems  # every revision is still complete
    assert after.blobs_checked == referenced_before.blobs_checked
    again = GarbageCollector(storage, "film", store.events, clock=later(2 * HOUR)).collect(HOUR)
    assert again.files_freed == 0


def test_gc_keeps_results_of_a_failed_run_for_reuse(local_storage):
    store = small_movie(local_storage)
    store.edit({"SegmentText[0]": "new text", "SegmentText[1]": "other text"})
    produce = CountingProduce(fail_always={"segment-0001/narration"})
    assert not store.regenerate(produce).committed
    GarbageCollector(local_storage, "film", store.events, clock=later(2 * HOUR)).collect(HOUR)
    retry = CountingProduce()
    assert store.regenerate(retry).committed
    assert retry.calls["segment-0000/narration"] == 0, "the failed run's result survived GC and was reused"
    assert verify(local_storage, "film").ok


def test_reuse_after_gc_reruns_instead_of_referencing_a_swept_blob(local_storage):
    store = small_movie(local_storage)
    store.edit({"SegmentText[1]": "version B"})
    assert store.regenerate(CountingProduce()).committed
    store.edit({"SegmentText[1]": ""})  # back to rev-0001's value: its result is in the archived log
    plan = store.plan()
    assert "segment-0001/narration" in plan.reused
    # sweep the old blob as if no manifest kept it (rollback target gone): simulate by deleting rev-0001
    old = ManifestService(local_storage, "film").load("rev-0001")
    blob = old.artefacts["segment-0001/narration/audio"].blob
    local_storage.delete("film", blob_path(blob.hash))
    plan = store.plan()
    assert "segment-0001/narration" not in plan.reused
    assert "segment-0001/narration" in plan.job_ids


def _dedup_writer(root: str, hashes_file: str, acked_file: str, go_file: str) -> None:
    """Re-put old orphan blobs (dedup hits) and fresh ones, logging a result for each (like a run)."""
    storage = StorageContext(StorageConfig.from_url(root))
    blobs = BlobStore(storage, "film")
    events = FileEventLog(storage, "film")
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
    blobs = BlobStore(storage, "film")
    payloads = [f"orphan payload {i}" for i in range(3000)]
    past = time.time() - 2 * HOUR
    for text in payloads:
        ref = blobs.put(text.encode(), "text/plain")
        os.utime(storage.resolve("film", blob_path(ref.hash)), (past, past))
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
        freed += GarbageCollector(storage, "film").collect(grace_seconds=HOUR).files_freed
    writer.join()
    assert writer.exitcode == 0
    freed += GarbageCollector(storage, "film").collect(grace_seconds=HOUR).files_freed
    referenced = set(acked.read_text().split())
    assert len(referenced) == len(revived)
    missing = [h for h in referenced if not blobs.has(h)]
    assert not missing, f"{len(missing)} blobs referenced by logged results were swept"
    assert freed >= 1500, "the orphans nobody revived were swept"
    assert verify(storage, "film").ok


# ---- rotation under a tight appender -----------------------------------------------------------------


def _tight_appender(root: str, options: dict, stop_file: str, acked_file: str) -> None:
    storage = StorageContext(StorageConfig.from_url(root, **options))
    events = FileEventLog(storage, "film")
    with open(acked_file, "w") as acked:
        i = 0
        while not os.path.exists(stop_file):
            event = events.append_input("Title", f"title {i}", "appender")
            acked.write(event.id + "\n")
            acked.flush()
            i += 1


@pytest.mark.parametrize("driver", ["local", "s3"])
def test_rotation_loses_no_line_while_a_process_appends(driver, tmp_path, request):
    if driver == "s3":
        storage = request.getfixturevalue("moto_s3").storage()
    else:
        storage = StorageContext(StorageConfig.from_url(str(tmp_path / "builds")))
    store = MovieStore(storage, "film")
    store.init(load_builtin("audio-only"), {"Title": "Rotation", "NumOfSegments": 1})
    manifests = ManifestService(storage, "film")
    stop, acked = tmp_path / "stop", tmp_path / "acked.txt"
    proc = mp.get_context("spawn").Process(
        target=_tight_appender, args=(storage.config.root, dict(storage.config.options), str(stop), str(acked))
    )
    proc.start()
    try:
        deadline = time.monotonic() + 60
        while (not acked.exists() or not acked.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(50):
            current = manifests.load_current()
            cursor = store.events.last_input_id()
            manifest = current.manifest.model_copy(
                update={
                    "revision": current.manifest.revision.next(),
                    "parent": current.manifest.revision,
                    "parent_hash": current.hash,
                    "input_cursor": cursor,
                    "created_at": utc_now(),
                }
            )
            manifests.save_manifest(manifest, current.hash)
            store.events.archive(manifest.revision, cursor, None)
    finally:
        stop.touch()
        proc.join(60)
    assert proc.exitcode == 0
    acknowledged = acked.read_text().split()
    assert len(acknowledged) > 50
    seen: list[str] = []
    for rel in storage.list("film", "events"):
        if rel.endswith(".inputs.jsonl") or rel == "events/inputs.log":
            seen += [json.loads(line)["id"] for line in storage.read("film", rel).decode().splitlines()]
    assert len(seen) == len(set(seen)), "a line landed in two places"
    init_ids = {e.id for e in store.events.stream_inputs() if e.edited_by == "init"}
    assert set(seen) - init_ids == set(acknowledged), "every acknowledged line is in exactly one place"
    archives = [r for r in storage.list("film", "events") if r.endswith(".inputs.jsonl")]
    assert len(archives) >= 10
    ids = [e.id for e in store.events.stream_inputs()]
    assert ids == sorted(ids) and len(ids) == len(seen)


# ---- checkpoints -------------------------------------------------------------------------------------


def test_checkpoints_bound_what_planning_reads(local_storage, monkeypatch):
    store = small_movie(local_storage, segments=1)
    store.checkpoints = Checkpoints(local_storage, "film", every=5, per_job=100)
    for i in range(12):
        store.edit({"SegmentText[0]": f"take {i}"})
        assert store.regenerate(CountingProduce()).committed
    assert store.current()[0].revision == "rev-0013"
    for rev in ("rev-0005", "rev-0010"):
        assert local_storage.exists("film", checkpoint_path("inputs", rev))
        assert local_storage.exists("film", checkpoint_path("artefacts", rev))
    assert not local_storage.exists("film", checkpoint_path("artefacts", "rev-0015"))
    inputs_cp = store.checkpoints.load_inputs(store.checkpoints.latest("inputs"))
    assert inputs_cp.inputs == store.manifests.load("rev-0010").inputs

    # the checkpointed index is what replaying the whole history gives (per-job bound not reached)
    replay: dict = {}
    for event in store.events.stream_artefacts():
        if event.status == "succeeded" and event.output:
            replay.setdefault((event.job_id, event.inputs_hash), {})[event.artefact_id] = event.output
    via_checkpoint = Checkpoints(local_storage, "film", per_job=100).index(store.events)
    assert via_checkpoint == replay

    reads: list[str] = []
    original = local_storage.read

    def counting_read(movie_id, relative):
        reads.append(relative)
        return original(movie_id, relative)

    monkeypatch.setattr(local_storage, "read", counting_read)
    store.plan()
    archives_read = [r for r in reads if r.endswith(".artefacts.jsonl")]
    assert len(archives_read) <= 4, archives_read  # revisions after rev-0010 (+1 boundary), not all 13


def test_checkpoint_per_job_bound_keeps_newest(local_storage):
    store = small_movie(local_storage, segments=1)
    for i in range(6):
        store.edit({"SegmentText[0]": f"take {i}"})
        assert store.regenerate(CountingProduce()).committed
    bounded = Checkpoints(local_storage, "film", per_job=2).index(store.events)
    per_job: dict[str, int] = {}
    for job, _ in bounded:
        per_job[job] = per_job.get(job, 0) + 1
    assert max(per_job.values()) == 2
    newest = store.current()[0].jobs["segment-0000/narration"].inputs_hash
    assert ("segment-0000/narration", newest) in bounded


# ---- migration ---------------------------------------------------------------------------------------


def test_migrate_legacy_fixture_and_rerun_changes_nothing(tmp_path):
    storage = StorageContext(StorageConfig.from_url(str(tmp_path / "builds")))
    report = Migrator(storage, "harbour").migrate(FIXTURE)
    assert report.created == ["v1 -> rev-0001", "v2 -> rev-0002", "v10 -> rev-0003"]
    service = ManifestService(storage, "harbour")
    v3 = service.load("rev-0003")
    assert v3.parent == "rev-0002" and v3.inputs["SegmentText[2]"].value == "Night falls."
    blobs = BlobStore(storage, "harbour")
    for track in v3.timeline.tracks:
        for clip in track.clips:
            name = clip.artefact_id.split("/", 1)[1]
            assert clip.blob.hash == v3.artefacts[clip.artefact_id].blob.hash
            assert blobs.get(clip.blob) == (FIXTURE / "v10" / name).read_bytes()
    assert verify(storage, "harbour").ok

    before = {(s.relative, s.size, s.mtime) for s in storage.scan("harbour", hidden=True)}
    again = Migrator(storage, "harbour").migrate(FIXTURE)
    assert again.created == [] and len(again.skipped) == 3 and again.blobs_stored == 0
    assert {(s.relative, s.size, s.mtime) for s in storage.scan("harbour", hidden=True)} == before

    d = diff(storage, "harbour", "rev-0001", "rev-0002")
    assert d.changed == ["legacy/narration-1.wav", "legacy/timeline"] and not d.added and not d.removed


def test_migrate_refuses_urls_outside_the_revision_folder(tmp_path):
    legacy = tmp_path / "legacy"
    shutil.copytree(FIXTURE, legacy)
    timeline = json.loads((legacy / "v2" / "timeline.json").read_text())
    timeline["tracks"][0]["clips"][0]["url"] = "../v1/image-0.png"
    (legacy / "v2" / "timeline.json").write_text(json.dumps(timeline))
    storage = StorageContext(StorageConfig.from_url(str(tmp_path / "builds")))
    with pytest.raises(MigrationError, match="outside its revision folder"):
        Migrator(storage, "harbour").migrate(legacy)
    assert ManifestService(storage, "harbour").history() == [], "a bad folder publishes nothing"


# ---- history / diff / rollback / verify / metrics ----------------------------------------------------


def test_history_diff_rollback(local_storage):
    store = small_movie(local_storage)
    store.edit({"SegmentText[1]": "a new line"})
    assert store.regenerate(CountingProduce()).committed
    d = diff(local_storage, "film", "rev-0001", "rev-0002")
    assert d.inputs_changed == {"SegmentText[1]": ("", "a new line")}
    assert "segment-0001/narration/audio" in d.changed and "segment-0000/narration/audio" not in d.changed

    script = "artifacts/text/segment-0001/script/text.txt"
    assert local_storage.read("film", script) == b"a new line"
    result = CliRunner().invoke(app, ["--root", local_storage.root, "rollback", "film", "rev-0001"])
    assert result.exit_code == 0 and "rev-0003 published with the content of rev-0001" in result.output
    manifests = ManifestService(local_storage, "film")
    first_script = manifests.load("rev-0001").artefacts["segment-0001/script/text"].blob
    assert local_storage.read("film", script) == store.blobs.get(first_script), "readable copies follow rollback"
    with pytest.raises(NotFound, match="rev-0042"):
        rollback(local_storage, "film", "rev-0042")
    rolled, first = manifests.load("rev-0003"), manifests.load("rev-0001")
    assert rolled.content_key() == first.content_key() and rolled.parent == "rev-0002"
    assert [h.revision for h in history(local_storage, "film")] == ["rev-0001", "rev-0002", "rev-0003"]
    assert diff(local_storage, "film", "rev-0001", "rev-0003").empty
    # nothing to regenerate: the rolled-back content is consistent with its own inputs
    assert not store.plan().has_changes()


def test_verify_reports_every_problem(local_storage):
    store = small_movie(local_storage)
    manifest = store.current()[0]
    blob = next(iter(manifest.artefacts.values())).blob
    path = local_storage.resolve("film", blob_path(blob.hash))
    data = bytearray(Path(path).read_bytes())
    data[0] ^= 0xFF
    os.chmod(path, 0o644)
    Path(path).write_bytes(bytes(data))
    other = list(manifest.artefacts.values())[1].blob
    local_storage.delete("film", blob_path(other.hash))
    local_storage.write_atomic("film", "manifests/rev-0009.json", b"{not json")
    report = verify(local_storage, "film")
    assert not report.ok
    text = "\n".join(report.problems)
    assert blob.hash in text and other.hash in text and "rev-0009" in text

    result = CliRunner().invoke(app, ["--root", local_storage.root, "verify", "film"])
    assert result.exit_code == 1 and "problem" in result.output


def test_verify_catches_a_dangling_current_pointer(local_storage):
    store = small_movie(local_storage)
    os.unlink(local_storage.resolve("film", "manifests/rev-0001.json"))
    report = verify(local_storage, "film")
    assert any("does not exist" in p for p in report.problems)
    assert store.current  # the store itself still raises clearly on load
    result = CliRunner().invoke(app, ["--root", local_storage.root, "status", "film"])
    assert result.exit_code == 2 and "rev-0001" in result.output


def test_metrics_count_retries_and_cost(local_storage):
    store = MovieStore(local_storage, "film")
    store.init(load_builtin("audio-only"), {"Title": "Metrics", "NumOfSegments": 2})
    assert not store.regenerate(CountingProduce(fail_always={"segment-0001/narration"})).committed
    assert store.regenerate(CountingProduce()).committed
    metrics = load_metrics(local_storage, "film", "rev-0001")
    assert metrics is not None
    assert metrics.retries == 1 and metrics.failed == 1
    assert metrics.producers["narration"].attempts == 3 and metrics.producers["narration"].failed == 1
    assert metrics.cost > 0 and metrics.jobs == len(store.current()[0].jobs)
    result = CliRunner().invoke(app, ["--root", local_storage.root, "status", "film"])
    assert result.exit_code == 0 and "1 retries" in result.output
    result = CliRunner().invoke(app, ["--root", local_storage.root, "history", "film"])
    assert result.exit_code == 0 and "rev-0001" in result.output


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
