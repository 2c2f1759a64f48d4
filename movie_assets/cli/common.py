"""What every command shares: the Typer apps, the consoles, the storage root, and error handling."""

from __future__ import annotations

import functools
import sys
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.text import Text

from movie_assets.errors import (
    InvalidValue,
    MovieAssetsError,
    UnknownMovie,
)
from movie_assets.movie import MovieStore
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext

app = typer.Typer(help="Store and regenerate AI-made movies on a content-addressed store.", no_args_is_help=True)
blueprints_app = typer.Typer(help="Shipped and custom blueprints.", no_args_is_help=True)
app.add_typer(blueprints_app, name="blueprints")
# piped output is not cut to 80 columns: tables stay readable in logs and CI
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

_state: dict[str, Any] = {"root": None}


@app.callback()
def main(
    root: str = typer.Option(
        None, "--root", envvar="MOVIE_ASSETS_ROOT", help="Storage root: a path, file://, memory:// or s3:// URL."
    ),
) -> None:
    _state["root"] = root or "builds"


def storage() -> StorageContext:
    return StorageContext(StorageConfig.from_url(_state["root"] or "builds"))


def handle_errors(fn):
    """Known failures become one red line and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MovieAssetsError as exc:
            # the message is printed as it is: rich markup would eat brackets such as SegmentText[1]
            err.print(Text("error: ", style="red") + Text(str(exc)), highlight=False)
            raise typer.Exit(2) from None

    return wrapper


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE pairs; values are read as YAML scalars/lists (3 -> int, [a, b] -> list, text -> str)."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise InvalidValue(f"expected KEY=VALUE, got {pair!r}")
        key, raw = pair.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out[key.strip()] = raw if value is None else value
    return out


def existing_movie(movie: str) -> MovieStore:
    """A store for a movie that exists (made by init, or migrated: manifests without a blueprint)."""
    store = MovieStore(storage(), movie)
    if not store.exists() and not store.fs.exists("current.json"):
        raise UnknownMovie(f"no movie {movie!r} under {store.storage.root}")
    return store


def parse_duration(text: str) -> float:
    """`90`, `90s`, `15m`, `1h`, `2d` → seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    raw = text.strip().lower()
    try:
        if raw and raw[-1] in units:
            return float(raw[:-1]) * units[raw[-1]]
        return float(raw)
    except ValueError:
        raise InvalidValue(f"not a duration: {text!r} (use e.g. 90s, 15m, 1h, 2d)") from None
