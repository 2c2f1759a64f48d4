"""`movie-assets`: the command line (Typer + Rich), a thin face over MovieStore like the other faces.

Each module registers its commands on the shared app; importing this package loads them all, in the
order `--help` lists them.
"""

# isort: off
from movie_assets.cli.common import app
from movie_assets.cli import movies, lifecycle, demo, blueprints  # noqa: F401  (registers the commands)
# isort: on

__all__ = ["app"]
