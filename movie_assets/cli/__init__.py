"""`movie-assets`: the command line (Typer + Rich), a thin face over MovieStore like the other faces.

Each module registers its commands on the shared app; importing this package loads them all, in the
order `--help` lists them.
"""

# isort: off
from movie_assets.cli.common import app
from movie_assets.cli import movies, lifecycle, demo, blueprints  # noqa: F401  (registers the commands)
# isort: on

__all__ = ["app", "main"]


def main() -> None:
    """The `movie-assets` entry point: the Typer app, then a quick exit."""
    import gc

    from movie_assets.cli import common

    common.ONE_SHOT = True  # the process ends after this command: see movie.one_shot_process
    common.pause_collector_for_start_up()
    try:
        app()
    finally:
        # The process is about to end. Without this, the interpreter's last collection walks every object
        # a large plan made: ~0.5 s of a 10,000-job `plan`. Only the real entry point does it (tests call
        # `app` in-process and keep collecting).
        gc.freeze()
