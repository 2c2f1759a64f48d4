"""`movie-assets daemon start|stop|status|run`: a resident process that answers the read-only commands
(`plan`, `status`, `show`, `history`, `diff`) of every later `movie-assets` call, as `dmypy` does for mypy.

Every command imports this module (it registers the commands): socket and subprocess load where used."""

from __future__ import annotations

import json
import os
import sys
import time

import typer

from movie_assets.cli import daemon_client as wire
from movie_assets.cli.common import app, console, handle_errors, parse_duration, settings
from movie_assets.errors import InvalidValue

daemon_app = typer.Typer(
    help="A resident process that answers plan, status, show, history and diff without start-up costs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(daemon_app, name="daemon")

_IDLE_HELP = "Stop after this long without a request (90s, 15m, 1h, 2d)."


def socket_path() -> str:
    """The socket from the shared settings (MOVIE_ASSETS_DAEMON_SOCKET), else the per-user default."""
    chosen = settings().daemon_socket
    if chosen and chosen.lower() == "off":
        raise InvalidValue("MOVIE_ASSETS_DAEMON_SOCKET is off: no daemon is used")
    return chosen or wire.default_socket_path(os.environ)


def ask(path: str, op: str, timeout: float = 2.0) -> dict | None:
    """The daemon's reply to `op` (status, stop), or None when none answers at `path`."""
    sock = wire.connect(path, timeout)
    if sock is None:
        return None
    with sock:
        sock.settimeout(timeout)
        try:
            wire.send(sock, {"op": op})
            for kind, payload in wire.frames(sock):
                return json.loads(payload) if kind == b"s" else {"code": int(payload)}
        except (OSError, ValueError):
            return None
    return None


@daemon_app.command("start")
@handle_errors
def start(idle: str = typer.Option("1h", "--idle", help=_IDLE_HELP)) -> None:
    """Start the daemon in the background; later commands hand it plan, status, show, history and diff."""
    path = socket_path()
    seconds = parse_duration(idle)
    import subprocess

    if not wire.peers_checkable():
        raise InvalidValue("the daemon needs Linux: here a command cannot tell who listens on its socket")
    running = ask(path, "status")
    if running:
        console.print(f"the daemon already runs (pid {running['pid']}) on {path}")
        return
    log_path = f"{path}.log"
    command = [sys.executable, "-m", "movie_assets.cli", "daemon", "run", "--socket", path, "--idle", f"{seconds}s"]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True
        )
    deadline = time.monotonic() + 30  # imports on a busy machine
    while time.monotonic() < deadline:
        report = ask(path, "status")
        if report:
            console.print(f"daemon started (pid {report['pid']}) on {path}; it stops after {idle} idle")
            return
        if process.poll() is not None:
            raise InvalidValue(f"the daemon did not start: {_last_line(log_path)}")
        time.sleep(0.05)
    process.terminate()
    raise InvalidValue(f"the daemon did not answer within 30 s (log: {log_path})")


@daemon_app.command("stop")
@handle_errors
def stop() -> None:
    """Stop the daemon; commands run in their own process again."""
    path = socket_path()
    if ask(path, "stop") is None:
        console.print(f"no daemon answers on {path}")
        return
    deadline = time.monotonic() + 10
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    console.print("daemon stopped")


@daemon_app.command("status")
@handle_errors
def status() -> None:
    """Whether a daemon answers, since when, and how many commands it ran."""
    path = socket_path()
    report = ask(path, "status")
    if report is None:
        console.print(f"no daemon answers on {path}; commands run in their own process")
        raise typer.Exit(1)
    console.print(
        f"daemon pid {report['pid']} on {path}: up {report['uptime_s']:.0f}s, "
        f"{report['served']} command{'' if report['served'] == 1 else 's'} answered, "
        f"stops after {report['idle_s']:.0f}s idle"
    )


@daemon_app.command("run")
@handle_errors
def run(
    socket_file: str = typer.Option(None, "--socket", help="Listen here (default: the settings' socket)."),
    idle: str = typer.Option("1h", "--idle", help=_IDLE_HELP),
    code_root: str = typer.Option(
        wire.PACKAGE_DIR, "--code-root", hidden=True, help="Stop when the code below this folder changes."
    ),
) -> None:
    """Run the daemon in the foreground (under systemd or a terminal); `start` runs this in the background."""
    from movie_assets.cli.daemon_server import Daemon

    daemon = Daemon(socket_file or socket_path(), parse_duration(idle), code_root)
    daemon.serve()


def _last_line(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            lines = handle.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"
