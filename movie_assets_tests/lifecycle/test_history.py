"""History, diff, rollback, verify and metrics."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.errors import NotFound
from movie_assets.lifecycle.history import diff, history, rollback, verify
from movie_assets.lifecycle.metrics import load_metrics
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.store.blobs import blob_path
from movie_assets.store.manifests import ManifestService

from ..helpers import CountingProduce
from .common import small_movie

# ---- history / diff / rollback / verify / metrics ----------------------------------------------------


def test_history_diff_rollback(local_storage):
    store = small_movie(local_storage)
    store.edit({"SegmentText[1]": "a new line"})
    assert store.regenerate(CountingProduce()).committed
    d = diff(local_storage.movie("film"), "rev-0001", "rev-0002")
    assert d.inputs_changed == {"SegmentText[1]": ("", "a new line")}
    assert "segment-0001/narration/audio" in d.changed and "segment-0000/narration/audio" not in d.changed

    script = "artifacts/text/segment-0001/script/text.txt"
    assert local_storage.movie("film").read(script) == b"a new line"
    result = CliRunner().invoke(app, ["--root", local_storage.root, "rollback", "film", "rev-0001"])
    assert result.exit_code == 0 and "rev-0003 published with the content of rev-0001" in result.output
    manifests = ManifestService(local_storage.movie("film"))
    first_script = manifests.load("rev-0001").artefacts["segment-0001/script/text"].blob
    assert local_storage.movie("film").read(script) == store.blobs.get(first_script), "readable copies follow rollback"
    with pytest.raises(NotFound, match="rev-0042"):
        rollback(local_storage.movie("film"), "rev-0042")
    rolled, first = manifests.load("rev-0003"), manifests.load("rev-0001")
    assert rolled.content_key() == first.content_key() and rolled.parent == "rev-0002"
    assert [h.revision for h in history(local_storage.movie("film"))] == ["rev-0001", "rev-0002", "rev-0003"]
    assert diff(local_storage.movie("film"), "rev-0001", "rev-0003").empty
    # nothing to regenerate: the rolled-back content is consistent with its own inputs
    assert not store.plan().has_changes()


def test_verify_reports_every_problem(local_storage):
    store = small_movie(local_storage)
    manifest = store.current()[0]
    blob = next(iter(manifest.artefacts.values())).blob
    path = local_storage.movie("film").resolve(blob_path(blob.hash))
    data = bytearray(Path(path).read_bytes())
    data[0] ^= 0xFF
    os.chmod(path, 0o644)
    Path(path).write_bytes(bytes(data))
    other = list(manifest.artefacts.values())[1].blob
    local_storage.movie("film").delete(blob_path(other.hash))
    local_storage.movie("film").write_atomic("manifests/rev-0009.json", b"{not json")
    report = verify(local_storage.movie("film"))
    assert not report.ok
    text = "\n".join(report.problems)
    assert blob.hash in text and other.hash in text and "rev-0009" in text

    result = CliRunner().invoke(app, ["--root", local_storage.root, "verify", "film"])
    assert result.exit_code == 1 and "problem" in result.output


def test_verify_catches_a_dangling_current_pointer(local_storage):
    store = small_movie(local_storage)
    os.unlink(local_storage.movie("film").resolve("manifests/rev-0001.json"))
    report = verify(local_storage.movie("film"))
    assert any("does not exist" in p for p in report.problems)
    assert store.current  # the store itself still raises clearly on load
    result = CliRunner().invoke(app, ["--root", local_storage.root, "status", "film"])
    assert result.exit_code == 2 and "rev-0001" in result.output


def test_metrics_count_retries_and_cost(local_storage):
    store = MovieStore(local_storage, "film")
    store.init(load_builtin("audio-only"), {"Title": "Metrics", "NumOfSegments": 2})
    assert not store.regenerate(CountingProduce(fail_always={"segment-0001/narration"})).committed
    assert store.regenerate(CountingProduce()).committed
    metrics = load_metrics(local_storage.movie("film"), "rev-0001")
    assert metrics is not None
    assert metrics.retries == 1 and metrics.failed == 1
    assert metrics.producers["narration"].attempts == 3 and metrics.producers["narration"].failed == 1
    assert metrics.cost > 0 and metrics.jobs == len(store.current()[0].jobs)
    result = CliRunner().invoke(app, ["--root", local_storage.root, "status", "film"])
    assert result.exit_code == 0 and "1 retries" in result.output
    result = CliRunner().invoke(app, ["--root", local_storage.root, "history", "film"])
    assert result.exit_code == 0 and "rev-0001" in result.output


def test_verify_tells_an_interrupted_first_commit_from_a_lost_pointer(local_storage):
    store = small_movie(local_storage)
    fs = local_storage.movie("film")
    first = fs.read("current.json")
    fs.delete("current.json")  # only rev-0001 exists: as if its commit died before the pointer swap
    assert verify(fs).ok, "nothing was ever published: consistent, the next commit goes on"
    fs.write_atomic("current.json", first)
    store.edit({"SegmentText[0]": "a second revision"})
    assert store.regenerate(CountingProduce()).committed
    fs.delete("current.json")  # rev-0002 was built on a published rev-0001: a pointer must exist
    assert any("current.json is missing although published revisions exist" in p for p in verify(fs).problems)
