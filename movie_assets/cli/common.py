"""What every command shares: the Typer apps, the consoles, the storage root, and error handling."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from movie_assets.errors import InvalidValue, MovieAssetsError, redact

if TYPE_CHECKING:  # imported where used: `--help` must not load the whole store
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from movie_assets.movie import MovieStore
    from movie_assets.settings import Settings
    from movie_assets.store.storage import StorageContext

# Help and usage errors are click's plain text: Typer's rich help imports rich's markdown renderer, which
# alone would dominate `movie-assets --help`.
app = typer.Typer(
    help="Store and regenerate AI-made movies on a content-addressed store.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
blueprints_app = typer.Typer(help="Shipped and custom blueprints.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(blueprints_app, name="blueprints")


class LazyConsole:
    """A rich Console built on first use: `--help` never needs rich's console module."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def real(self) -> Console:
        """The Console itself (for APIs such as Progress that take one)."""
        if self._console is None:
            from rich.console import Console

            console = Console(**self._options)
            if console.color_system is None and "highlight" not in self._options:
                # nothing is coloured (a pipe, NO_COLOR): highlighting would only style text nobody sees,
                # and compiling its patterns is start-up work for nothing
                console = Console(highlight=False, **self._options)
            self._console = console
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def console_options(tty: bool, stderr: bool = False) -> dict[str, Any]:
    """How a console prints for a terminal or a pipe. Piped output is not cut to 80 columns: tables stay
    readable in logs and CI. No emoji codes: a title holding ":fire:" is printed as written."""
    options: dict[str, Any] = {"soft_wrap": True, "emoji": False}
    if stderr:
        options["stderr"] = True
    elif not tty:
        options["width"] = 160
    return options


console = LazyConsole(**console_options(sys.stdout.isatty()))
err = LazyConsole(**console_options(sys.stderr.isatty(), stderr=True))

_state: dict[str, Any] = {"root": None}
ROOT_HELP = "Storage root: a path, file://, memory:// or s3:// URL (default: $MOVIE_ASSETS_ROOT, else ./builds)."


@app.callback()
def main(
    root: str = typer.Option(
        None,
        "--root",
        metavar="PATH|URL",
        help=ROOT_HELP,
    ),
) -> None:
    _state["root"] = root
    _state.pop("settings", None)


def esc(value: object) -> str:
    """`value` as text rich prints as written: what users and providers write may hold markup such as
    `[/bold]`, which rich would apply, or refuse with a traceback."""
    from rich.markup import escape

    return escape(str(value))


def labelled(label: str, style: str, message: str = "") -> Text:
    """`label` in `style`, then `message` as it is: rich markup would eat brackets such as SegmentText[1]."""
    from rich.text import Text

    return Text(label, style=style) + Text(message)


def new_table(*columns: str) -> Table:
    """A rich Table with these column headers (rich's table module loads when a command prints one)."""
    from rich.table import Table

    return Table(*columns)


def settings() -> Settings:
    """The settings every face shares (environment), with the command line's --root on top."""
    from movie_assets.settings import Settings

    if "settings" not in _state:
        _state["settings"] = Settings.load(root=_state.get("root"))
    return _state["settings"]


def storage() -> StorageContext:
    return settings().storage()


def movie_store(movie: str) -> MovieStore:
    """A MovieStore on the configured storage and event log (file or Redis, as the Dagster face uses)."""
    return settings().movie_store(movie)


def handle_errors(fn):
    """Known failures become one red line and exit code 2, never a traceback. Every command also takes the
    global `--root` after its own name (`movie-assets status film --root ./other`)."""

    @functools.wraps(fn)
    def wrapper(*args, root_after: str | None = None, **kwargs):
        if root_after is not None:
            _state["root"] = root_after
            _state.pop("settings", None)
        try:
            return fn(*args, **kwargs)
        except MovieAssetsError as exc:
            err.print(labelled("error: ", "red", redact(str(exc))), highlight=False)
            raise typer.Exit(2) from None
        except OSError as exc:  # files the command itself reads or writes (--inputs, --output)
            where = f"{exc.filename}: " if exc.filename else ""
            err.print(labelled("error: ", "red", f"{where}{exc.strerror or exc}"), highlight=False)
            raise typer.Exit(2) from None

    signature = inspect.signature(fn)
    option = typer.Option(None, "--root", metavar="PATH|URL", help=ROOT_HELP)
    extra = inspect.Parameter("root_after", inspect.Parameter.KEYWORD_ONLY, default=option, annotation="str | None")
    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), extra])
    wrapper.__annotations__ = {**fn.__annotations__, "root_after": "str | None"}
    return wrapper


def write_bytes(*chunks: bytes) -> None:
    """Bytes straight to standard output. A reader that left (`| head`) ends the command quietly with
    exit code 1, as rich ends one whose tables it was printing."""
    try:
        sys.stdout.flush()
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        console.on_broken_pipe()


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE pairs as typed; each value is read for its input's type by values_from_text."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise InvalidValue(f"expected KEY=VALUE, got {pair!r}")
        key, raw = pair.split("=", 1)
        out[key.strip()] = raw
    return out


def existing_movie(movie: str) -> MovieStore:
    """A store for a movie that exists (made by init, or migrated: manifests without a blueprint)."""
    return movie_store(movie).require()


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


MAX_FILE_BYTES = 16 * 1024 * 1024  # an inputs file or a blueprint: text a person writes


def read_yaml(path: Path) -> Any:
    """A YAML file of values, safely parsed (a `!!python/...` tag is refused, not run)."""
    from movie_assets.pipeline.safe_yaml import load_yaml
    from movie_assets.store.files import read_regular

    try:
        return load_yaml(read_regular(path, MAX_FILE_BYTES).decode("utf-8"), str(path))
    except UnicodeDecodeError:
        raise InvalidValue(f"{path}: not UTF-8 text") from None


def write_verified(output: Path, chunks: Iterator[bytes]) -> None:
    """Stream chunks (hash-checked by the blob store as they come) into `output`, all or nothing: they go
    to a temp file beside it, renamed over `output` only once the last chunk has verified."""
    if output.is_dir():
        raise InvalidValue(f"{output}: is a directory; give a file name")
    if not output.parent.is_dir():
        raise InvalidValue(f"{output}: the folder {output.parent} does not exist")
    from movie_assets.store.files import create_exclusive

    partial = output.with_name(f".{output.name}.partial")
    handle = create_exclusive(partial)  # never through a link planted at that name in a shared folder
    try:
        with handle:
            for chunk in chunks:
                handle.write(chunk)
        os.replace(partial, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
