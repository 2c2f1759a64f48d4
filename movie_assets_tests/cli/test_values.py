"""Values on the command line are what they look like: a string input takes the text as typed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin


@pytest.fixture
def film(local_storage) -> MovieStore:
    store = MovieStore(local_storage, "film")
    store.init(load_builtin("audio-only"), {"Title": "T", "NumOfSegments": 2})
    return store


@pytest.mark.parametrize(
    "typed", ["NO", "2024-01-01", "12:30", "0x1F", "a: b", "!!binary aGVsbG8=", "[not, a, list]", "~"]
)
def test_a_string_input_takes_the_text_as_typed(film, typed):
    result = CliRunner().invoke(app, ["--root", film.storage.root, "edit", "film", f"Title={typed}"])
    assert result.exit_code == 0, result.output
    assert film.effective_inputs()["Title"] == typed


@pytest.mark.parametrize(
    "pair,expected",
    [("NumOfSegments=3", 3), ("SegmentText=[one, two]", None), ("Title='quoted: text'", "quoted: text")],
)
def test_numbers_lists_and_quoted_values_are_read(film, pair, expected):
    result = CliRunner().invoke(app, ["--root", film.storage.root, "edit", "film", pair])
    assert result.exit_code == 0, result.output
    values = film.effective_inputs()
    if pair.startswith("SegmentText"):
        assert (values["SegmentText[0]"], values["SegmentText[1]"]) == ("one", "two")
    else:
        assert values[pair.split("=", 1)[0]] == expected


@pytest.mark.parametrize("pair", ["NumOfSegments=0x1F", "NumOfSegments=twelve", "Voice=nosuch"])
def test_a_value_that_does_not_fit_its_input_is_one_line_and_nothing_is_appended(film, pair):
    before = len(list(film.events.stream_inputs()))
    result = CliRunner().invoke(app, ["--root", film.storage.root, "edit", "film", pair])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert len(list(film.events.stream_inputs())) == before


def test_invalid_utf8_on_the_command_line_is_one_clear_line(film):
    argv = [sys.executable, "-m", "movie_assets.cli", "--root", film.storage.root, "edit", "film"]
    done = subprocess.run([*[a.encode() for a in argv], b"Title=a\xffb"], capture_output=True, env=os.environ)
    assert done.returncode == 2 and b"not valid UTF-8" in done.stderr and b"Traceback" not in done.stderr
    assert film.effective_inputs()["Title"] == "T"


def test_regenerate_ends_with_the_path_of_the_final_output(film):
    result = CliRunner().invoke(app, ["--root", film.storage.root, "regenerate", "film", "--yes"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    path = last.removeprefix("final output: ")
    assert last.startswith("final output: ") and path.endswith("exports/rev-0001.wav") and os.path.exists(path), last
