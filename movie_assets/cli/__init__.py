"""`movie-assets`: the command line (Typer + Rich), a thin face over MovieStore like the other faces.

Each module registers its commands on the shared app; `app` loads them all, in the order `--help`
lists them. Importing this package alone loads nothing, so `--help` stays quick.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name == "app":
        # isort: off
        from movie_assets.cli.common import app
        from movie_assets.cli import movies, catalog, lifecycle, demo, servers, blueprints  # noqa: F401  (registers the commands)
        # isort: on

        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """The `movie-assets` entry point."""
    import gc

    from movie_assets.cli import app

    try:
        app()
    finally:
        # the process ends here: without this, the interpreter's last collection walks every object the
        # command made, to free nothing (benchmarks/README.md, "The command line", measures it)
        gc.freeze()
