"""GC at grace 0 beside a writer: the two interleavings that lost blobs of committed revisions, replayed
deterministically, plus write debris and in-flight temp files."""

from __future__ import annotations

import os
import time

import pytest

from movie_assets.errors import BlobNotFound
from movie_assets.lifecycle.gc import GarbageCollector
from movie_assets.lifecycle.history import verify
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.store.blobs import blob_path
from movie_assets.store.events import FileEventLog
from movie_assets.store.models import ArtefactEntry

from ..helpers import CountingProduce
from .common import HOUR, later, small_movie


class GcBeforeFirstLog(FileEventLog):
    """Runs a GC (grace 0, clock a second ahead) just before the first result is logged: the moment
    a producer's blob is stored but not yet referenced by anything."""

    def __init__(self, fs) -> None:
        super().__init__(fs)
        self.reports: list = []

    def append_artefacts(self, events):
        if any(e.status == "succeeded" for e in events) and not self.reports:
            self.reports.append(GarbageCollector(self.fs, FileEventLog(self.fs), clock=later(1)).collect(0))
        return super().append_artefacts(events)


def test_gc_at_grace_zero_between_storing_and_logging_a_result_loses_nothing(local_storage):
    store = MovieStore(local_storage, "film", GcBeforeFirstLog(local_storage.movie("film")))
    store.init(load_builtin("audio-only"), {"Title": "Race", "NumOfSegments": 2})
    outcome = store.regenerate(CountingProduce())
    assert store.events.reports, "the collector ran inside the run"
    assert outcome.committed
    report = verify(local_storage.movie("film"))
    assert report.ok, report.problems


def test_a_revision_committed_between_mark_and_sweep_keeps_its_blobs(local_storage):
    store = small_movie(local_storage)
    fs = local_storage.movie("film")
    extra = store.blobs.put(b"a take made before the collector started", "text/plain")
    past = time.time() - 2 * HOUR
    os.utime(fs.resolve(blob_path(extra.hash)), (past, past))  # old and unreferenced when the mark runs

    class CommitDuringMark(FileEventLog):
        committed = False

        def stream_artefacts(self, after=None):
            if not self.committed:  # the mark phase reads the log last: commit right then
                self.committed = True
                manifest, digest = store.current()
                entry = ArtefactEntry(blob=extra, job_id="user", inputs_hash=extra.hash)
                following = manifest.replace(
                    revision=manifest.revision.next(),
                    parent=manifest.revision,
                    parent_hash=digest,
                    artefacts={**manifest.artefacts, "user/take": entry},
                )
                store.manifests.save_manifest(following, digest)
            return super().stream_artefacts(after)

    report = GarbageCollector(fs, CommitDuringMark(fs)).collect(grace_seconds=0)
    assert store.current()[0].revision == "rev-0002"
    assert blob_path(extra.hash) not in report.freed
    assert store.blobs.has(extra.hash)
    assert verify(fs).ok


def test_a_commit_naming_a_swept_blob_publishes_nothing(local_storage):
    store = small_movie(local_storage)
    store.edit({"SegmentText[0]": "a new first scene"})
    plan = store.plan()
    run = store.run(plan, CountingProduce())
    assert run.succeeded
    produced = {b.hash for r in run.results.values() if r.record for b in r.record.outputs.values()}
    base = store.current()[0].blob_hashes()
    gone = sorted(produced - base)[0]
    local_storage.movie("film").delete(blob_path(gone))  # what a sweep racing the run would have done
    with pytest.raises(BlobNotFound, match=gone):
        store.commit(run)
    assert store.current()[0].revision == "rev-0001", "nothing was published"
    outcome = store.regenerate(CountingProduce())
    assert outcome.committed and verify(local_storage.movie("film")).ok, "a rerun remakes the blob"


def test_gc_sweeps_its_own_debris_and_spares_in_flight_temp_files(local_storage):
    store = small_movie(local_storage)
    fs = local_storage.movie("film")
    debris = [".staging/0123abcd.tmp", "runs/.rev-0002-progress.json.9f9f.tmp", "manifests/.rev-0002.json.77.tmp"]
    past = time.time() - 2 * HOUR
    for rel in debris:
        path = fs.resolve(rel, internal=True)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(b"left by a write killed half-way")
        os.utime(path, (past, past))
    in_flight = fs.resolve(".staging/fresh.tmp", internal=True)
    with open(in_flight, "wb") as handle:
        handle.write(b"a writer is still streaming into this")

    report = GarbageCollector(fs, store.events).collect(grace_seconds=0)
    assert sorted(f for f in report.freed if f in debris) == sorted(debris)
    assert not any(os.path.exists(fs.resolve(rel, internal=True)) for rel in debris)
    assert os.path.exists(in_flight), "a young temp file may still be written: never swept"
    assert verify(fs).ok
