"""`movie-assets view` and `movie-assets mcp`: the long-running faces."""

from __future__ import annotations

from pathlib import Path

import typer

from movie_assets.cli.common import app, console, err, esc, handle_errors, labelled, settings
from movie_assets.errors import InvalidValue


@app.command()
@handle_errors
def view(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="Port to listen on (1-65535)."),
    dagster_url: str = typer.Option(None, "--dagster-url", help="Dagster UI base URL, for links to asset pages."),
    allow_host: list[str] = typer.Option(
        [], "--allow-host", help="A host name the viewer also answers for (beside loopback); repeatable."
    ),
) -> None:
    """Open the web viewer: watch the final cut and every segment, edit inputs, regenerate, compare revisions."""
    import uvicorn

    from movie_assets.viewer import create_app
    from movie_assets.viewer.guard import is_loopback

    if not is_loopback(host):
        err.print(
            labelled(
                "warning: ",
                "yellow",
                f"listening on {host}: anyone who can reach it can edit movies and spend money on regenerates",
            ),
            highlight=False,
        )
    console.print(f"viewer on http://{host}:{port} (storage root {esc(settings().storage().root)}); Ctrl-C stops it")
    app_ = create_app(settings(), dagster_url=dagster_url, allowed_hosts=allow_host)
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command()
@handle_errors
def mcp(
    blueprints: Path = typer.Option(
        None, "--blueprints", help="A folder whose blueprint YAML files agents may use by file name."
    ),
) -> None:
    """Serve the Model Context Protocol on stdio, so an agent can make, steer and inspect movies."""
    from movie_assets.mcp import build_server

    if blueprints is not None and not blueprints.is_dir():
        raise InvalidValue(f"{blueprints}: not a folder")
    build_server(settings(), blueprints).run("stdio")


DEV_INSTANCE = """telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
"""


@app.command()
@handle_errors
def dev(
    port: int = typer.Option(3000, "--port", min=1, max=65535, help="Port of Dagster's UI (1-65535)."),
    viewer_port: int = typer.Option(8765, "--viewer-port", min=1, max=65535, help="Port of the viewer (1-65535)."),
) -> None:
    """Dagster's UI and the viewer together, linked: Dagster's artefact and final-cut links play in the viewer,
    the viewer's links open Dagster's asset pages. Ctrl-C stops both."""
    import os
    import subprocess
    import sys

    root = settings().storage().root
    home = os.environ.get("DAGSTER_HOME") or os.path.abspath(".dagster_home")
    os.makedirs(home, exist_ok=True)
    config = os.path.join(home, "dagster.yaml")
    if not os.path.exists(config):  # an instance of its own: SQLite, and runs started within a second
        with open(config, "w") as handle:
            handle.write(DEV_INSTANCE)
    viewer_url, dagster_url = f"http://127.0.0.1:{viewer_port}", f"http://127.0.0.1:{port}"
    env = {**os.environ, "DAGSTER_HOME": home, "MOVIE_ASSETS_ROOT": root, "MOVIE_ASSETS_VIEWER_URL": viewer_url}
    viewer = [
        sys.executable,
        "-m",
        "movie_assets.cli",
        "view",
        "--port",
        str(viewer_port),
        "--dagster-url",
        dagster_url,
    ]
    # `dg dev` needs this repository's pyproject; `dagster dev` serves the installed package from anywhere
    # (its notice that `dg dev` supersedes it is a FutureWarning, silenced here)
    dagster = [sys.executable, "-W", "ignore::FutureWarning", "-m", "dagster", "dev", "-m", "movie_assets.definitions"]
    dagster += ["-p", str(port)]
    console.print(f"Dagster on {dagster_url}, the viewer on {viewer_url}, storage root {esc(root)}")
    children = [subprocess.Popen(viewer, env=env), subprocess.Popen(dagster, env=env)]
    try:
        while all(child.poll() is None for child in children):
            try:
                children[1].wait(1)
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
