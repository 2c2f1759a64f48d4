"""The command line's side of the daemon: a read-only command (`plan`, `status`, ...) is handed to a
running `movie-assets daemon`, which answers from a process that has imported everything already and
keeps what it read (the parsed manifest, the expanded graph, the folded input log, the results index).

Standard library only, and nothing else of the package: this runs first in every command, and costs one
`stat` of the socket's path when no daemon runs. Anything unexpected (no daemon, a daemon of another user or of
changed code, a daemon that dies mid-answer) returns None and the command runs here as always: the
commands served only read, so running one again is harmless.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # socket and json load only when a daemon's socket exists: ~6 ms of every command without one
    import socket

# commands that only read the store and never ask a question: a daemon may answer them
SERVED = frozenset({"plan", "status", "show", "history", "diff"})
SOCKET_VARIABLE = "MOVIE_ASSETS_DAEMON_SOCKET"
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_HEADER = struct.Struct(">cI")  # a frame: kind, then the payload's length
_LENGTH = struct.Struct(">I")


def default_socket_path(environ: Mapping[str, str]) -> str:
    """One daemon per user and installation (interpreter and package folder): two virtualenvs never
    answer for each other."""
    import zlib

    base = environ.get("XDG_RUNTIME_DIR") or "/tmp"
    tag = zlib.crc32(f"{sys.executable}\0{PACKAGE_DIR}".encode()) & 0xFFFFFFFF
    return os.path.join(base, f"movie-assets-{os.getuid()}-{tag:08x}.sock")


def socket_path(environ: Mapping[str, str]) -> str | None:
    """The daemon's socket: $MOVIE_ASSETS_DAEMON_SOCKET (any case, as Settings reads it), else the
    default; None when that variable is `off`."""
    for key, value in environ.items():
        if key.upper() == SOCKET_VARIABLE and value:
            return None if value.lower() == "off" else value
    return default_socket_path(environ)


def served_command(argv: Sequence[str]) -> str | None:
    """The command `argv` runs, if a daemon may answer it: one of SERVED, asked without `--help`.

    Only the app's own options may come before the command (`--root PATH`); any other option there
    (`--help`, completion) stays local. A test keeps this in step with the app's options."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--root":
            index += 2
        elif token.startswith("--root="):
            index += 1
        elif token.startswith("-"):
            return None
        else:
            rest = argv[index + 1 :]
            if token in SERVED and "--help" not in rest:
                return token
            return None
    return None


def program_name(argv0: str) -> str:
    """The name usage lines show, as click derives it for our two entry points."""
    if os.path.basename(argv0) == "__main__.py":
        return "python -m movie_assets.cli"
    return os.path.basename(argv0)


def connect(path: str, timeout: float = 1.0) -> socket.socket | None:
    """A connection to a daemon run by this user at `path`, or None."""
    if not os.path.exists(path):  # no daemon: the usual case costs one stat
        return None
    import socket

    if not peers_checkable():  # no way to tell who listens: never hand a command over
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
        if peer_uid(sock) != os.getuid():  # a socket another user left where ours goes
            raise ConnectionRefusedError(path)
        sock.settimeout(None)  # a large plan may take a while; a daemon that dies closes the socket
        return sock
    except OSError:
        sock.close()
        return None


def peers_checkable() -> bool:
    """Whether this system tells who is at the other end of a Unix socket (Linux's SO_PEERCRED)."""
    import socket

    return hasattr(socket, "SO_PEERCRED")


def peer_uid(sock: socket.socket) -> int:
    """The user id of the process at the other end of `sock` (both sides serve and ask only their own)."""
    import socket

    return struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]


def send(sock: socket.socket, message: dict) -> None:
    """One request: its length, then its JSON."""
    import json

    body = json.dumps(message).encode()
    sock.sendall(_LENGTH.pack(len(body)) + body)


def receive(sock: socket.socket) -> dict | None:
    """One request as `send` wrote it; None if the peer closed early."""
    head = _read(sock, _LENGTH.size)
    if head is None:
        return None
    body = _read(sock, _LENGTH.unpack(head)[0])
    if body is None:
        return None
    import json

    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("a request is a JSON object")
    return message


def frames(sock: socket.socket):
    """(kind, payload) frames of an answer, until the peer closes."""
    while (head := _read(sock, _HEADER.size)) is not None:
        kind, length = _HEADER.unpack(head)
        payload = _read(sock, length)
        if payload is None:
            return
        yield kind, payload


def frame(kind: bytes, payload: bytes) -> bytes:
    """One frame of an answer: b"o" standard output, b"e" standard error, b"x" the exit code,
    b"n" not served (the reason), b"s" a status report (JSON)."""
    return _HEADER.pack(kind, len(payload)) + payload


def _read(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def request(argv: Sequence[str], environ: Mapping[str, str]) -> dict:
    """What the daemon needs to run `argv` as this process would: where, with which settings, for which
    terminal."""
    tty = [os.isatty(1), os.isatty(2)]
    columns = None
    if tty[0]:
        try:
            columns = os.get_terminal_size(1).columns
        except OSError:
            columns = None
    return {
        "op": "run",
        "argv": list(argv),
        "prog": program_name(sys.argv[0]),
        "cwd": os.getcwd(),
        # all of it: not only MOVIE_ASSETS_* and the terminal's variables shape a command (AWS_PROFILE, HOME)
        "env": dict(environ),
        "tty": tty,
        "columns": columns,
        "executable": sys.executable,
        "package": PACKAGE_DIR,
    }


def answer(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int | None:
    """Run `argv` in the daemon and write its output here: the exit code, or None when no daemon ran it
    (the caller then runs the command itself). Output is written only once the whole answer arrived, so
    a daemon that dies midway leaves nothing half-printed."""
    environ = os.environ if environ is None else environ
    if served_command(argv) is None:
        return None
    path = socket_path(environ)
    sock = connect(path) if path else None
    if sock is None:
        return None
    with sock:
        try:
            return _exchange(sock, request(argv, environ))
        except (OSError, ValueError):
            return None
        except KeyboardInterrupt:  # as click ends a command interrupted here; the daemon finds us gone
            sys.stderr.write("\nAborted!\n")
            return 1


def _exchange(sock: socket.socket, message: dict) -> int | None:
    out: list[bytes] = []
    err: list[bytes] = []
    send(sock, message)
    for kind, payload in frames(sock):
        if kind == b"o":
            out.append(payload)
        elif kind == b"e":
            err.append(payload)
        elif kind == b"x":
            try:
                for stream, chunks in ((sys.stdout, out), (sys.stderr, err)):
                    if chunks:
                        stream.flush()
                        write_all(stream.buffer, b"".join(chunks))
            except BrokenPipeError:  # `| head`: ends quietly as a command run here does, and is not run again
                _closed_pipe()
                return 1
            return int(payload)
        else:  # b"n": not served here (changed code, another installation)
            return None
    return None


def _closed_pipe() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush does not fail again on
    the way out (what rich does for a command run here)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def write_all(binary, data: bytes) -> None:
    """Write all of `data` and flush. Into a pipe whose reader left, a large write returns short and only
    the next one raises BrokenPipeError: a single write would lose the rest silently."""
    view = memoryview(data)
    while view:
        view = view[binary.write(view) :]
    binary.flush()
