"""Edits and names that used to be accepted and then silently never applied (or shown garbled)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.errors import BlueprintError, InvalidId
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_blueprint, load_builtin
from movie_assets.store.paths import validate_movie_id
from movie_assets_tests.helpers import quick

MOVIE = "film"


def _cli(root, *args):
    return CliRunner().invoke(app, ["--root", str(root), *args])


@pytest.fixture
def film(local_storage) -> MovieStore:
    store = MovieStore(local_storage, MOVIE)
    store.init(load_builtin("audio-only"), quick(load_builtin("audio-only"), {"Title": "Edits", "NumOfSegments": 4}))
    return store


def test_an_index_with_leading_zeros_is_the_same_key(film):
    [event] = film.edit({"SegmentText[01]": "the second scene"})
    assert event.key == "SegmentText[1]"
    assert "SegmentText[1]" in film.plan().changed_inputs


@pytest.mark.parametrize("key", ["SegmentText[4]", "SegmentText[9]", "SegmentText[99999999999]"])
def test_an_edit_of_a_segment_that_does_not_exist_is_refused_naming_the_count(film, key):
    with pytest.raises(BlueprintError, match=r"NumOfSegments is 4 \(indices 0-3\)"):
        film.edit({key: "nowhere"})
    assert [e.key for e in film.events.stream_inputs()].count(key) == 0


def test_growing_the_loop_in_the_same_edit_makes_the_index_valid(film):
    events = film.edit({"NumOfSegments": 6, "SegmentText[5]": "a new last scene"})
    assert [e.key for e in events] == ["NumOfSegments", "SegmentText[5]"]


def test_the_cli_shows_brackets_in_errors_and_exits_2(tmp_path):
    root = tmp_path / "b"
    assert _cli(root, "init", MOVIE, "-b", "audio-only", "--set", "Title=x", "--set", "NumOfSegments=4").exit_code == 0
    result = _cli(root, "edit", MOVIE, "SegmentText[9]=x")
    assert result.exit_code == 2 and "inputs.SegmentText[9]" in result.output and "NumOfSegments" in result.output


def test_verify_of_a_movie_that_does_not_exist_is_refused(tmp_path):
    result = _cli(tmp_path / "b", "verify", "nosuchmovie")
    assert result.exit_code == 2 and "no movie 'nosuchmovie'" in result.output


@pytest.mark.parametrize("bad", ["film\n", "film\r", " film", "film/", "fi\x00lm"])
def test_a_movie_id_with_a_trailing_newline_or_other_junk_is_refused(bad):
    with pytest.raises(InvalidId):
        validate_movie_id(bad)


def test_a_huge_input_value_is_refused_with_its_size(film):
    with pytest.raises(BlueprintError, match="over the 262,144-byte limit"):
        film.edit({"SegmentText[0]": "x" * (10 * 1024 * 1024)})


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "x y"])
def test_an_output_name_that_is_not_an_identifier_is_refused(name):
    yaml = f"""
meta: {{id: bad-outputs}}
producers:
  script:
    version: "1"
    outputs: {{"{name}": {{mime_type: text/plain}}}}
"""
    with pytest.raises(BlueprintError, match="output names are identifiers"):
        load_blueprint(yaml)


def test_a_misspelt_blueprint_name_suggests_the_right_one(tmp_path):
    result = _cli(tmp_path / "b", "init", MOVIE, "-b", "audio-onyl", "--set", "Title=x")
    assert result.exit_code == 2 and "did you mean audio-only?" in result.output


def test_delete_asks_first_and_then_removes_the_whole_movie(tmp_path):
    root = tmp_path / "b"
    assert _cli(root, "init", MOVIE, "-b", "audio-only", "--set", "Title=Gone soon").exit_code == 0
    assert _cli(root, "init", "keep", "-b", "audio-only", "--set", "Title=Stays").exit_code == 0
    declined = CliRunner().invoke(app, ["--root", str(root), "delete", MOVIE], input="n\n")
    assert declined.exit_code == 1 and (root / MOVIE).exists()
    confirmed = CliRunner().invoke(app, ["--root", str(root), "delete", MOVIE], input="y\n")
    assert confirmed.exit_code == 0 and not (root / MOVIE).exists() and (root / "keep").exists()
    assert _cli(root, "delete", MOVIE, "--yes").exit_code == 2, "a movie that is not there"
