"""Damage that used to stick: a deleted or tampered live blob, a junk line inside the input log."""

from __future__ import annotations

from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.lifecycle.history import verify
from movie_assets.store.blobs import blob_path

from .common import small_movie


def _cli(root: str, *args: str):
    return CliRunner().invoke(app, ["--root", root, *args])


def test_a_deleted_live_blob_makes_its_job_dirty_and_regenerate_remakes_it(local_storage):
    store = small_movie(local_storage)
    manifest, _ = store.current()
    narration = manifest.artefacts["segment-0001/narration/audio"].blob
    local_storage.movie("film").delete(blob_path(narration.hash))

    plan = store.plan()
    [job] = [j for j in plan.jobs if j.direct]
    assert job.job_id == "segment-0001/narration" and "output blob missing" in job.reasons[0]
    result = _cli(local_storage.root, "regenerate", "film")
    assert result.exit_code == 0, result.output
    assert store.blobs.has(narration.hash), "the offline producer made the same bytes again"
    assert verify(local_storage.movie("film")).ok
    assert _cli(local_storage.root, "regenerate", "film").output.strip().endswith("nothing to do")


def test_verify_repair_quarantines_a_tampered_blob_and_remakes_it(local_storage):
    store = small_movie(local_storage)
    script = store.current()[0].artefacts["segment-0000/script/text"].blob
    path = local_storage.movie("film").resolve(blob_path(script.hash))
    with open(path, "r+b") as handle:
        handle.write(b"X")  # bytes changed on disk, name unchanged
    assert "up to date" in _cli(local_storage.root, "regenerate", "film").output  # only hashing can tell
    assert _cli(local_storage.root, "verify", "film").exit_code == 1

    repaired = _cli(local_storage.root, "verify", "film", "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert f"quarantined corrupt blob {script.hash}" in repaired.output
    assert local_storage.movie("film").exists(f"quarantine/blobs/{script.hash}")
    assert store.blobs.get(script) and verify(local_storage.movie("film")).ok


def test_verify_repair_moves_a_junk_line_aside_and_keeps_every_good_line(local_storage):
    store = small_movie(local_storage)
    fs = local_storage.movie("film")
    store.edit({"SegmentText[0]": "before the junk"})
    store.edit({"SegmentText[1]": "after the junk"})

    def junk_in_the_middle(current: bytes) -> bytes:
        *first, second = current.splitlines(keepends=True)  # first: the init's anchor line, then an edit
        return b"".join(first) + b"{not json at all\n" + second

    fs.update("events/inputs.log", junk_in_the_middle)

    broken = _cli(local_storage.root, "plan", "film")
    assert broken.exit_code == 2 and "line 3: malformed event" in broken.output
    assert "verify --repair" in broken.output

    repaired = _cli(local_storage.root, "verify", "film", "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert "quarantined line" in repaired.output
    [aside] = fs.list("events/quarantine")
    assert fs.read(aside) == b"{not json at all\n"
    values = {e.key: e.value for e in store.events.stream_inputs(after=store.current()[0].input_cursor)}
    assert values == {"SegmentText[0]": "before the junk", "SegmentText[1]": "after the junk"}
    assert set(store.plan().changed_inputs) == {"SegmentText[0]", "SegmentText[1]"}
