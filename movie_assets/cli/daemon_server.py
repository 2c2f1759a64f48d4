"""The daemon: one long-lived process that runs the read-only commands other `movie-assets` processes
hand it (see daemon_client), so a command costs what its own work costs and not a fresh interpreter's
imports and first reads.

Requests are served one at a time, each as the caller would have run it: in its working folder, with
its whole environment (settings, credentials) and its terminal's width and colours. What the daemon
keeps between requests is what any long-lived face keeps (the Dagster sensor, the viewer): caches keyed
by content (a manifest's sha256, a log's last line, a blueprint's hash), checked against the store at
every request, so an edit or a commit by any other process is seen by the next command.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from movie_assets.cli import daemon_client as wire
from movie_assets.errors import InvalidValue

log = logging.getLogger(__name__)


def code_fingerprint(root: str = wire.PACKAGE_DIR) -> int:
    """A checksum of every module's path, size and mtime below `root`: an upgrade or an edit of the code
    changes it, and a daemon running older code than the command's must not answer (~1 ms)."""
    seen = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith((".py", ".json", ".yaml")):
                stat = os.stat(os.path.join(folder, name))
                seen.append(f"{folder}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}")
    return zlib.crc32("\n".join(sorted(seen)).encode())


class Daemon:
    """Serves requests on a Unix socket at `path` until stopped or idle for `idle` seconds."""

    # a caller that connects and then says nothing (or stops reading) must not hold up the next ones
    request_timeout = 10.0
    answer_timeout = 60.0

    def __init__(self, path: str, idle: float, code_root: str = wire.PACKAGE_DIR) -> None:
        if not wire.peers_checkable():
            raise InvalidValue("the daemon needs Linux: here it cannot tell who asks on its socket")
        self.path, self.idle, self.code_root = path, idle, code_root
        self.started = time.time()
        self.served = 0
        self.running = False
        self.fingerprint = code_fingerprint(code_root)
        self.command = _warm_up()

    def serve(self) -> None:
        """Listen, answer, and remove the socket on the way out (stop, idle, SIGTERM)."""
        listener = _listen(self.path)
        if threading.current_thread() is threading.main_thread():  # only the main thread may take signals
            signal.signal(signal.SIGTERM, lambda *_: self.stop())
        listener.settimeout(min(self.idle, 1.0))
        self.running = True
        last = time.monotonic()
        try:
            while self.running and time.monotonic() - last < self.idle:
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                with conn:
                    self.handle(conn)
                last = time.monotonic()
        finally:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def stop(self) -> None:
        self.running = False

    def handle(self, conn: socket.socket) -> None:
        """One request: run a command, report status, or stop."""
        if wire.peer_uid(conn) != os.getuid():
            return
        try:
            conn.settimeout(self.request_timeout)
            message = wire.receive(conn)
            if message is None:
                return
            reply = self.answer(message)
            conn.settimeout(self.answer_timeout)
            conn.sendall(reply)
        except (OSError, ValueError) as exc:  # a caller that went away, or junk on the socket
            log.warning("daemon: a request failed: %s", exc)
        except Exception:  # one bad request must not end the daemon for every later caller
            log.exception("daemon: a request failed")

    def answer(self, message: dict[str, Any]) -> bytes:
        op = message.get("op")
        if op == "stop":
            self.stop()
            return wire.frame(b"x", b"0")
        if op == "status":
            return wire.frame(b"s", json.dumps(self.report()).encode())
        refused = self.refusal(message)
        if refused:
            return wire.frame(b"n", refused.encode())
        argv = [str(arg) for arg in message["argv"]]
        self.served += 1
        code, out, err = self.run(argv, message)
        return wire.frame(b"o", out) + wire.frame(b"e", err) + wire.frame(b"x", str(code).encode())

    def refusal(self, message: dict[str, Any]) -> str | None:
        """Why this daemon must not run the request (the caller then runs it), or None."""
        if message.get("op") != "run" or not isinstance(message.get("argv"), list):
            return "unknown request"
        if message.get("executable") != sys.executable or message.get("package") != wire.PACKAGE_DIR:
            return "another installation"
        if code_fingerprint(self.code_root) != self.fingerprint:
            self.stop()  # older code than the caller's: it runs the command itself, and we make way
            return "the code changed since the daemon started"
        if wire.served_command([str(arg) for arg in message["argv"]]) is None:
            return "not a served command"
        return None

    def report(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "socket": self.path,
            "started": self.started,
            "uptime_s": round(time.time() - self.started, 1),
            "served": self.served,
            "idle_s": self.idle,
        }

    def run(self, argv: list[str], message: dict[str, Any]) -> tuple[int, bytes, bytes]:
        """Run one command as the caller would have: its exit code, standard output and error."""
        out, err = io.BytesIO(), io.BytesIO()
        with _as_caller(message, out, err):
            try:
                self.command.main(args=argv, prog_name=message.get("prog") or "movie-assets", standalone_mode=True)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except Exception:  # a defect: the caller sees the traceback a local run would print
                traceback.print_exc()
                code = 1
        return code, out.getvalue(), err.getvalue()


def _warm_up() -> Any:
    """The app's click command, with everything a served command imports loaded now, not on the first
    request."""
    import typer.main

    import movie_assets.movie
    import movie_assets.pipeline.planner
    import movie_assets.pipeline.prices  # noqa: F401
    from movie_assets.cli import app

    return typer.main.get_command(app)


def _listen(path: str) -> socket.socket:
    """A listening socket at `path`, readable by this user only; a socket file nobody answers on (a
    daemon that was killed) is replaced, a live daemon's is not."""
    if os.path.exists(path):
        probe = wire.connect(path, timeout=0.5)
        if probe is not None:
            probe.close()
            raise InvalidValue(f"a daemon already answers on {path}")
        os.unlink(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # created 0600: no window where another user could connect
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    listener.listen(16)
    return listener


@contextlib.contextmanager
def _as_caller(message: dict[str, Any], out: io.BytesIO, err: io.BytesIO) -> Iterator[None]:
    """The caller's folder, environment and terminal for the length of one command (requests are served
    one at a time, so they are the process's own meanwhile); the daemon's own are put back after."""
    from movie_assets.cli import common

    tty_out, tty_err = (list(message.get("tty") or []) + [False, False])[:2]
    env = {str(k): str(v) for k, v in (message.get("env") or {}).items()}
    saved_env = dict(os.environ)
    saved_streams = sys.stdout, sys.stderr
    cwd = os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    # the commands write text (rich, click) and bytes (`plan --json` writes to .buffer)
    streams = [io.TextIOWrapper(buffer, encoding="utf-8", write_through=True) for buffer in (out, err)]
    sys.stdout, sys.stderr = streams
    common.console.configure(**common.console_options(bool(tty_out), message.get("columns"), elsewhere=True))
    common.err.configure(**common.console_options(bool(tty_err), stderr=True, elsewhere=True))
    try:
        os.chdir(message.get("cwd") or cwd)
        yield
    finally:
        sys.stdout, sys.stderr = saved_streams
        for stream in streams:
            stream.flush()
            stream.detach()  # a wrapper closes its buffer when collected; the answer is read after this
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved_env)
