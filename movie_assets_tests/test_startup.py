"""The command line starts without the heavy parts it does not need (measured in a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .helpers import modules_a_command_loads

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

    from .helpers import CountingProduce

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


def test_the_command_line_freezes_what_a_plan_made_and_an_in_process_app_does_not(film):
    """A one-shot `plan` would otherwise scan the plan's objects once more, to free nothing, before exiting;
    the library (Dagster's sensor, the viewer, tests calling `app`) keeps collecting as usual."""
    probe = (
        "import gc, sys\n"
        "import movie_assets.cli\n"
        "from movie_assets.cli import app, common\n"
        "common.ONE_SHOT = {one_shot}  # what main() sets; main also freezes at exit, which would hide the plan's\n"
        f"sys.argv = ['movie-assets', '--root', {film.root!r}, 'plan', 'film', '--json']\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('FROZEN', gc.get_freeze_count() > 0, 'ENABLED', gc.isenabled())\n"
    )
    for one_shot in ("True", "False"):
        out = subprocess.run(
            [sys.executable, "-c", probe.replace("{one_shot}", one_shot)], capture_output=True, text=True, check=True
        ).stdout
        assert '"layers"' in out, out  # the plan was printed
        assert out.rsplit("FROZEN", 1)[1].split() == [one_shot, "ENABLED", "True"], (one_shot, out)
    sets = (
        "import sys, movie_assets.cli as c\n"
        "sys.argv = ['movie-assets', '--help']\n"
        "try:\n    c.main()\nexcept SystemExit:\n    pass\n"
        "print('ONE_SHOT', c.common.ONE_SHOT)\n"
    )
    out = subprocess.run([sys.executable, "-c", sets], capture_output=True, text=True, check=True).stdout
    assert out.rsplit("ONE_SHOT", 1)[1].split() == ["True"], out


def test_the_command_line_parses_without_collecting_and_runs_the_command_with_start_up_frozen(film):
    """Typer's parsing (pydantic, its adapters) made ~30 collections that freed nothing; the command's own
    work (a regenerate, the viewer) collects again, with what start-up made frozen out of it."""
    probe = (
        "import gc, sys\n"
        "import movie_assets.cli as c\n"
        "from movie_assets.cli import common, movies\n"
        "collections = []\n"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and collections.append(info))\n"
        "resume, store = common.resume_collector, movies.movie_store\n"
        "def parsed():\n"
        "    print('PARSED', len(collections), gc.isenabled())\n"
        "    resume()\n"
        "def body(movie):\n"
        "    print('BODY', gc.isenabled(), gc.get_freeze_count() > 0)\n"
        "    return store(movie)\n"
        "common.resume_collector, movies.movie_store = parsed, body\n"
        f"sys.argv = ['movie-assets', '--root', {film.root!r}, 'status', 'film']\n"
        "gc.collect()\n"
        "collections.clear()\n"
        "try:\n    c.main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "pending input changes" in out, out  # the command ran
    assert out.split("PARSED", 1)[1].split()[:2] == ["0", "False"], out
    assert out.split("BODY", 1)[1].split()[:2] == ["True", "True"], out


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


def test_quick_read_only_commands_skip_pydantics_plugin_search_unless_you_choose(film):
    """Finding pydantic plugins scans every installed package's entry points (~30 ms of `status`); the
    quick read-only commands skip it, others keep it, and a PYDANTIC_DISABLE_PLUGINS you set wins."""

    def run(args: list[str], **env: str) -> list[str]:
        probe = (
            "import os, sys\n"
            "import movie_assets.cli as c\n"
            f"sys.argv = ['movie-assets', '--root', {film.root!r}, *{args!r}]\n"
            "try:\n    c.main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "from pydantic.plugin import _loader\n"
            "print('SCANNED', _loader._plugins is not None, os.environ.get('PYDANTIC_DISABLE_PLUGINS', '-') or '-')\n"
        )
        environ = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env={**environ, **env}
        ).stdout
        return out.rsplit("SCANNED", 1)[1].split()

    assert run(["status", "film"]) == ["False", "__all__"]
    assert run(["status", "film"], PYDANTIC_DISABLE_PLUGINS="") == ["True", "-"]
    assert run(["edit", "film", "Title=Loud"]) == ["True", "-"]
