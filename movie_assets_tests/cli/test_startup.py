"""The command line starts without the heavy parts it does not need (measured in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ..helpers import modules_a_command_loads

HEAVY = ("dagster", "boto3", "botocore", "s3fs", "redis", "numpy", "PIL", "imageio", "mcp", "uvicorn", "starlette")
# `--help` lists commands: it needs none of the store, the pipeline or the settings machinery either
CORE = (
    "movie_assets.movie",
    "movie_assets.settings",
    "movie_assets.pipeline",
    "movie_assets.store",
    "pydantic_settings",
    "pydantic",  # typer's parameter adapters load it only when a command runs
    "rich",  # help is click's plain text; rich's markdown renderer alone cost ~0.1 s
    "yaml",
    "fsspec",
)


@pytest.fixture
def film(local_storage):
    """A small movie `film` (audio-only, 2 segments) under a local root; the storage context."""
    from movie_assets.movie import MovieStore
    from movie_assets.pipeline.blueprint.load import load_builtin

    MovieStore(local_storage, "film").init(load_builtin("audio-only"), {"Title": "Quiet", "NumOfSegments": 2})
    return local_storage


def test_help_imports_no_orchestrator_cloud_client_or_media_library():
    probe = f"import sys, movie_assets.cli\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], f"imported at start-up: {loaded}"
    help_text = subprocess.run(
        [sys.executable, "-m", "movie_assets.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "regenerate" in help_text and "view" in help_text and "mcp" in help_text


def test_help_loads_neither_the_store_nor_the_pipeline_nor_rich():
    probe = (
        "import sys, movie_assets.cli\n"
        "sys.argv = ['movie-assets', '--help']\n"
        "try:\n    movie_assets.cli.main()\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', ' '.join(m for m in {CORE!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "Commands:" in out, out  # the help was printed
    loaded = out.rsplit("LOADED", 1)[1].split()
    assert loaded == [], f"imported by --help: {loaded}"


def test_a_no_op_regenerate_loads_no_media_library(local_storage, tmp_path):
    """Planning needs no producer: the offline producers (PIL, numpy, imageio) load only to run a job;
    and a local root goes straight to the OS, without fsspec."""
    from movie_assets.movie import MovieStore
    from movie_assets.pipeline.blueprint.load import load_builtin

    from ..helpers import CountingProduce

    store = MovieStore(local_storage, "film")
    store.init(load_builtin("audio-only"), {"Title": "Quiet", "NumOfSegments": 2})
    assert store.regenerate(CountingProduce()).committed
    printed, loaded = modules_a_command_loads(
        ["--root", local_storage.root, "regenerate", "film", "--yes"], ("numpy", "PIL", "imageio", "fsspec")
    )
    assert "up to date" in printed and loaded == [], printed


def test_status_and_plan_load_neither_the_runner_nor_a_producer(film):
    """They only read: the runner, its thread pool and the producers load when something runs."""
    unneeded = ("movie_assets.pipeline.runner", "movie_assets.producers", "concurrent.futures")
    for command in (["status", "film"], ["plan", "film", "--json"]):
        printed, loaded = modules_a_command_loads(["--root", film.root, *command], unneeded)
        assert loaded == [], (command, printed)


def test_output_nobody_sees_in_colour_is_not_highlighted_and_reads_the_same(monkeypatch):
    import io

    from rich.highlighter import ReprHighlighter

    from movie_assets.cli.common import LazyConsole

    calls = []
    original = ReprHighlighter.__call__
    monkeypatch.setattr(ReprHighlighter, "__call__", lambda self, text: calls.append(text) or original(self, text))
    line = "rev-0002 took 12 producer runs (0 retries), cost 0.0572, 3.25s of producer time"
    piped, coloured = io.StringIO(), io.StringIO()
    LazyConsole(file=piped, soft_wrap=True).print(line)
    assert piped.getvalue() == line + "\n" and calls == [], "a pipe gets the plain text, unhighlighted"
    LazyConsole(file=coloured, soft_wrap=True, force_terminal=True, color_system="standard").print(line)
    assert calls and "\x1b[" in coloured.getvalue(), "a terminal still gets numbers highlighted"
