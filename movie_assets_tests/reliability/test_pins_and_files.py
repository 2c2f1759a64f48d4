"""Pins, overrides and the files users hand in: nothing lost to GC, nothing unbounded, nothing followed."""

from __future__ import annotations

import os
import threading

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.errors import InvalidValue
from movie_assets.lifecycle import gc as gc_module
from movie_assets.lifecycle.gc import GarbageCollector
from movie_assets.pipeline.blueprint.inputs import MAX_VALUE_BYTES
from movie_assets.pipeline.steering import pin_key
from movie_assets.store.blobs import blob_path

from ..helpers import CountingProduce
from ..lifecycle.common import small_movie

SCRIPT = "segment-0000/script/text"


def test_a_gc_that_runs_between_an_overrides_blob_and_its_edit_keeps_the_blob(local_storage, monkeypatch):
    store = small_movie(local_storage)
    real_append = store.events.append_inputs
    swept = []

    def gc_in_the_window(values, edited_by="user"):
        if any(key.startswith("@pin:") for key in values):  # the blob is stored, the edit not yet logged
            swept.append(GarbageCollector(store.fs, store.events).collect(grace_seconds=0))
        return real_append(values, edited_by)

    monkeypatch.setattr(store.events, "append_inputs", gc_in_the_window)
    event = store.override(SCRIPT, b"My own words, kept through a collection.")
    assert swept, "a collection ran inside the window"
    assert store.blobs.has(event.value["hash"]), "the collector kept the blob"
    assert not store.fs.list("runs", hidden=True) or not any(
        "pinning-" in rel for rel in store.fs.list("runs", hidden=True)
    ), "the guard is gone once the edit is logged"
    assert store.regenerate(CountingProduce()).committed and store.verify().ok


def test_verify_reports_a_pending_pin_whose_blob_is_gone(local_storage):
    store = small_movie(local_storage)
    event = store.override(SCRIPT, b"Soon to be lost.")
    store.fs.delete(blob_path(event.value["hash"]))
    report = store.verify()
    assert not report.ok and any("pending @pin:" in p for p in report.problems), report.problems


def test_a_pinned_then_unpinned_blob_is_collected_without_a_commit(local_storage):
    store = small_movie(local_storage)
    event = store.override(SCRIPT, b"A take I changed my mind about.")
    store.unpin(SCRIPT)
    report = GarbageCollector(store.fs, store.events).collect(grace_seconds=0)
    assert not store.blobs.has(event.value["hash"]) and report.files_freed >= 1
    assert store.verify().ok


def test_a_pinned_blob_that_is_still_pinned_after_folding_is_kept(local_storage):
    store = small_movie(local_storage)
    store.override(SCRIPT, b"First choice.")
    second = store.override(SCRIPT, b"Second choice.")
    GarbageCollector(store.fs, store.events).collect(grace_seconds=0)
    assert store.blobs.has(second.value["hash"])


def test_a_stale_pinning_guard_left_by_a_killed_process_stops_counting(local_storage, monkeypatch):
    store = small_movie(local_storage)
    store.fs.write_atomic(f"{gc_module.PINNING_PREFIX}dead.json", b"{}")
    orphan = store.blobs.put(b"orphan bytes nobody references", "text/plain")
    later = GarbageCollector(
        store.fs, store.events, clock=lambda: __import__("time").time() + 2 * gc_module.DEBRIS_MIN_AGE
    )
    later.collect(grace_seconds=0)
    assert not store.blobs.has(orphan.hash), "an old guard does not keep everything younger than it forever"


def test_verify_compares_each_entrys_size_and_type_with_its_blob(local_storage):
    store = small_movie(local_storage)
    manifest, digest = store.current()
    entry = manifest.artefacts["music/audio"]
    text_blob = store.blobs.put(b"not audio at all", "text/plain")
    forged = manifest.replace(
        revision=manifest.revision.next(),
        parent=manifest.revision,
        parent_hash=digest,
        artefacts={
            **manifest.artefacts,
            "music/audio": entry.replace(blob=text_blob.replace(mime_type="audio/wav", size=999)),
        },
    )
    store.manifests.save_manifest(forged, digest)
    problems = store.verify().problems
    assert any("claims 999 bytes" in p for p in problems), problems
    assert any("claims audio/wav" in p and "text/plain" in p for p in problems), problems


def test_a_text_override_is_capped_like_an_input_value(local_storage, tmp_path):
    store = small_movie(local_storage)
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (MAX_VALUE_BYTES + 1))
    result = CliRunner().invoke(app, ["--root", local_storage.root, "override", "film", SCRIPT, str(big)])
    assert result.exit_code == 2 and "over" in result.output, result.output
    with pytest.raises(InvalidValue):
        store.override(SCRIPT, b"a" * (MAX_VALUE_BYTES + 1))
    assert pin_key(SCRIPT) not in store.effective_inputs()


def test_override_refuses_a_link_and_a_fifo_without_following_or_waiting(local_storage, tmp_path):
    store = small_movie(local_storage)
    secret = tmp_path / "secret.txt"
    secret.write_text("private words")
    link = tmp_path / "link.txt"
    link.symlink_to(secret)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    runner = CliRunner()
    linked = runner.invoke(app, ["--root", local_storage.root, "override", "film", SCRIPT, str(link)])
    assert linked.exit_code == 2 and "symbolic link" in linked.output, linked.output
    done = {}
    thread = threading.Thread(
        target=lambda: done.update(
            r=runner.invoke(app, ["--root", local_storage.root, "override", "film", SCRIPT, str(fifo)])
        )
    )
    thread.start()
    thread.join(20)
    if thread.is_alive():  # unblock the reader so the test ends, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("override waited on a FIFO")
    assert done["r"].exit_code == 2 and "FIFO" in done["r"].output, done["r"].output
    assert pin_key(SCRIPT) not in store.effective_inputs()


def test_export_never_writes_through_a_link_planted_at_its_partial_name(local_storage, tmp_path):
    small_movie(local_storage)
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    out = tmp_path / "mix.wav"
    (tmp_path / ".mix.wav.partial").symlink_to(victim)
    result = CliRunner().invoke(app, ["--root", local_storage.root, "export", "film", "export/mix", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert victim.read_text() == "untouched" and not out.exists()
