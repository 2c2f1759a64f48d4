"""Your own takes: pin a file as an artefact, unpin it, ask a job for another take."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from movie_assets.errors import InvalidValue
from movie_assets.lifecycle.gc import GarbageCollector
from movie_assets.lifecycle.history import verify
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.store.blobs import blob_path

from ..helpers import CountingProduce, quick


@pytest.fixture
def film(local_storage) -> MovieStore:
    store = MovieStore(local_storage, "film")
    store.init(load_builtin("audio-only"), quick(load_builtin("audio-only"), {"Title": "Takes", "NumOfSegments": 2}))
    assert store.regenerate(CountingProduce()).committed
    return store


def _jobs_run(produce: CountingProduce) -> set[str]:
    return {job for job, n in produce.calls.items() if n}


def test_a_pinned_script_replaces_the_producer_and_reruns_only_what_reads_it(film):
    film.override("segment-0001/script/text", b"My own words for the second scene.")
    plan = film.plan()
    assert "@pin:segment-0001/script/text" in plan.changed_inputs
    assert "segment-0001/script" not in plan.job_ids, "the pinned job does not run"
    assert "segment-0001/narration" in plan.job_ids and "segment-0000/narration" not in plan.job_ids
    produce = CountingProduce()
    assert film.regenerate(produce).committed
    assert "segment-0001/script" not in _jobs_run(produce)
    manifest, _ = film.current()
    assert film.blobs.get(manifest.artefacts["segment-0001/script/text"].blob) == b"My own words for the second scene."
    assert not film.plan().has_changes(), "a pin stays put: the next plan has nothing to do"


def test_unpin_gives_the_artefact_back_and_reuses_the_producers_earlier_result(film):
    original = film.current()[0].artefacts["segment-0001/script/text"].blob
    film.override("segment-0001/script/text", b"Pinned for a while.")
    assert film.regenerate(CountingProduce()).committed
    film.unpin("segment-0001/script/text")
    produce = CountingProduce()
    assert film.regenerate(produce).committed
    assert film.current()[0].artefacts["segment-0001/script/text"].blob == original
    assert "segment-0001/script" not in _jobs_run(produce), "the first take's result was reused, not remade"
    with pytest.raises(InvalidValue, match="is not pinned"):
        film.unpin("segment-0001/script/text")


def test_a_reroll_makes_a_new_take_and_keeps_the_old_one_in_history(film):
    first = film.current()[0].artefacts["music/audio"].blob
    film.reroll("music")
    plan = film.plan()
    [music] = [j for j in plan.jobs if j.job_id == "music"]
    assert music.take == 1 and music.reasons == ["reroll: take 1"] and music.direct
    produce = CountingProduce()
    assert film.regenerate(produce).committed
    second = film.current()[0].artefacts["music/audio"].blob
    assert second.hash != first.hash and produce.calls["music"] == 1
    assert film.manifests.load("rev-0001").artefacts["music/audio"].blob == first
    film.reroll("music")
    assert film.regenerate(CountingProduce()).committed
    assert film.current()[0].artefacts["music/audio"].blob.hash not in (first.hash, second.hash)


def test_a_file_of_the_wrong_type_or_an_unknown_artefact_is_refused(film):
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, "PNG")
    with pytest.raises(InvalidValue, match="is audio/wav; the file given is image/png"):
        film.override("segment-0000/narration/audio", png.getvalue())
    with pytest.raises(InvalidValue, match="has no artefact"):
        film.override("segment-0009/script/text", b"x")
    with pytest.raises(InvalidValue, match="has no job"):
        film.reroll("segment-0009/narration")
    with pytest.raises(InvalidValue, match="reserved keys are not edits"):
        film.edit({"@take:music": -1})
    assert [e.key for e in film.events.stream_inputs(after=film.current()[0].input_cursor)] == []


def test_gc_keeps_a_pinned_file_before_and_after_it_is_published(film):
    event = film.override("segment-0000/script/text", b"Kept by the collector.")
    pinned = event.value["hash"]
    GarbageCollector(film.fs, film.events).collect(grace_seconds=0)
    assert film.blobs.has(pinned), "referenced by the pending edit"
    assert film.regenerate(CountingProduce()).committed
    GarbageCollector(film.fs, film.events).collect(grace_seconds=0)
    assert film.fs.exists(blob_path(pinned)) and verify(film.fs).ok


def test_going_back_to_take_zero_restores_the_first_take_not_the_last(local_storage):
    from ..helpers import CountingProduce
    from ..lifecycle.common import small_movie

    store = small_movie(local_storage)
    first = store.current()[0].artefacts["music/audio"].blob.hash
    store.reroll("music")
    assert store.regenerate(CountingProduce()).committed
    assert store.current()[0].artefacts["music/audio"].blob.hash != first
    store.reroll("music", take=0)
    produce = CountingProduce()
    assert store.regenerate(produce).committed
    assert store.current()[0].artefacts["music/audio"].blob.hash == first, "take 0 again: the first take"
    assert "music" not in produce.calls, "reused from the log, not produced again"


@pytest.mark.parametrize(
    "edit",
    [
        {"@take:nosuchjob": 3},
        {"@pin:segment-0000/nosuch/text": {"hash": "0" * 64, "size": 1, "mime_type": "text/plain"}},
    ],
)
def test_a_reserved_key_is_not_an_edit_in_any_face(film, edit):
    from typer.testing import CliRunner

    from movie_assets.cli import app

    with pytest.raises(InvalidValue, match="reserved keys are not edits"):
        film.edit(edit)
    key, value = next(iter(edit.items()))
    runner = CliRunner()
    root = film.storage.root
    result = runner.invoke(app, ["--root", root, "edit", "film", f"{key}={value if isinstance(value, int) else 'x'}"])
    assert result.exit_code == 2 and "reserved keys are not edits" in result.output, result.output
    made = runner.invoke(
        app, ["--root", root, "init", "other", "-b", "audio-only", "--set", "Title=T", "--set", f"{key}=1"]
    )
    assert made.exit_code == 2 and "reserved keys" in made.output, made.output
    assert [e.key for e in film.events.stream_inputs(after=film.current()[0].input_cursor)] == [], "nothing appended"
    assert not film.storage.movie("other").exists("blueprint.yaml")


def test_a_pin_or_take_naming_nothing_in_the_graph_is_reported_and_the_movie_goes_on(film):
    """Such a key can stand in the log (written by an older version, or a pin of a segment since cut): the
    planner reports it and plans the rest; status, plan and regenerate keep working."""
    from typer.testing import CliRunner

    from movie_assets.cli import app

    film.events.append_input("@take:nosuchjob", 3)
    film.edit({"SegmentText[0]": "Still planned."})
    plan = film.plan()
    assert plan.ignored == ["@take:nosuchjob"]
    assert "segment-0000/script" in plan.job_ids
    result = CliRunner().invoke(app, ["--root", film.storage.root, "status", "film"])
    assert result.exit_code == 0 and "@take:nosuchjob" in result.output, result.output
    assert film.regenerate(CountingProduce()).committed
