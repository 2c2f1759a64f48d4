"""`movie-assets`: the command line (Typer + Rich), a thin face over MovieStore like the other faces.

Each module registers its commands on the shared app; `app` loads them all, in the order `--help`
lists them. Importing this package alone loads nothing: `main` first offers the command to a running
daemon (cli.daemon_client), which answers read-only commands without this process importing Typer.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name == "app":
        # isort: off
        from movie_assets.cli.common import app
        from movie_assets.cli import movies, lifecycle, demo, blueprints, daemon  # noqa: F401  (registers the commands)
        # isort: on

        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """The `movie-assets` entry point: a running daemon's answer, else the Typer app, then a quick exit."""
    import gc
    import os
    import sys

    collecting = gc.isenabled()
    gc.disable()  # what start-up allocates lives until exit: see common.pause_collector_for_start_up
    from movie_assets.cli.daemon_client import answer, served_command

    code = answer(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    if served_command(sys.argv[1:]):
        # a quick read-only command: pydantic's search for plugins scans every installed package's entry
        # points (~30 ms of a ~0.3 s `status`); set PYDANTIC_DISABLE_PLUGINS yourself (even empty) to decide
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

    from movie_assets.cli import common

    common.ONE_SHOT = True  # the process ends after this command: see movie.one_shot_process
    common.pause_collector_for_start_up(collecting)
    try:
        from movie_assets.cli import app

        app()
    finally:
        # The process is about to end. Without this, the interpreter's last collection walks every object
        # a large plan made: ~0.5 s of a 10,000-job `plan`. Only the real entry point does it (tests call
        # `app` in-process and keep collecting).
        gc.freeze()
