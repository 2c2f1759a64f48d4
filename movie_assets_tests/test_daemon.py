"""`movie-assets daemon`: read-only commands answered by a resident process give exactly what a fresh
process gives, see every change other processes make, and fall back to running here when anything is off.

Each command runs as a user runs it: `python -m movie_assets.cli` in a new interpreter, talking to a
real daemon over a real Unix socket."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from movie_assets.cli import daemon_client as wire

CLI = [sys.executable, "-m", "movie_assets.cli"]


def _env(sock: str | Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MOVIE_ASSETS_")}
    return {**env, "MOVIE_ASSETS_DAEMON_SOCKET": str(sock), **extra}


def cli(sock, *args, cwd=None, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=_env(sock, **extra), cwd=cwd, timeout=120)


def served(sock) -> int:
    """How many commands the daemon at `sock` has answered."""
    from movie_assets.cli.daemon import ask

    return ask(str(sock), "status")["served"]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """A daemon started as a user starts it, on a socket of its own; stopped at the end."""
    sock = tmp_path_factory.mktemp("daemon") / "d.sock"
    started = cli(sock, "daemon", "start", "--idle", "10m")
    assert started.returncode == 0, started.stderr
    assert "daemon started" in started.stdout
    yield sock
    cli(sock, "daemon", "stop")


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    """A root with two movies, `film` committed twice then edited, and `fresh` never committed."""
    from movie_assets.movie import MovieStore
    from movie_assets.pipeline.blueprint.load import load_builtin
    from movie_assets.store.config import StorageConfig
    from movie_assets.store.storage import StorageContext

    from .helpers import CountingProduce

    root = tmp_path_factory.mktemp("films") / "builds"
    storage = StorageContext(StorageConfig(driver="local", root=str(root)))
    film = MovieStore(storage, "film")
    film.init(load_builtin("audio-only"), {"Title": "Quiet", "NumOfSegments": 2})
    assert film.regenerate(CountingProduce()).committed
    film.edit({"Title": "Quieter"})
    assert film.regenerate(CountingProduce()).committed
    film.edit({"SegmentText[1]": "a second line, edited"})
    MovieStore(storage, "fresh").init(load_builtin("audio-only"), {"Title": "[bold]New", "NumOfSegments": 1})
    return root


def _without_time(text: str) -> dict:
    plan = json.loads(text)
    plan.pop("created_at")
    return plan


def test_served_commands_print_what_a_fresh_process_prints(daemon, films):
    before = served(daemon)
    commands = [
        ["status", "film"],
        ["status", "fresh"],
        ["plan", "film"],
        ["show", "film"],
        ["history", "film"],
        ["diff", "film", "rev-0001", "rev-0002"],
    ]
    for args in commands:
        here = cli("off", "--root", str(films), *args)
        there = cli(daemon, "--root", str(films), *args)
        assert (there.returncode, there.stdout, there.stderr) == (here.returncode, here.stdout, here.stderr), args
        assert here.returncode == 0 and here.stdout, (args, here.stderr)
    here = cli("off", "--root", str(films), "plan", "film", "--json")
    there = cli(daemon, "--root", str(films), "plan", "film", "--json")
    assert _without_time(there.stdout) == _without_time(here.stdout)
    assert _without_time(there.stdout)["changed_inputs"] == ["SegmentText[1]"]
    assert served(daemon) == before + len(commands) + 1  # every one was answered by the daemon


def test_the_next_command_sees_an_edit_and_a_commit_made_by_other_processes(daemon, tmp_path):
    root = str(tmp_path / "builds")
    assert cli("off", "--root", root, "init", "film", "--blueprint", "audio-only", "--set", "Title=One").returncode == 0
    first = _without_time(cli(daemon, "--root", root, "plan", "film", "--json").stdout)
    edited = cli("off", "--root", root, "edit", "film", "Title=Two")
    assert edited.returncode == 0, edited.stderr
    second = _without_time(cli(daemon, "--root", root, "plan", "film", "--json").stdout)
    assert second != first and "Title" in second["changed_inputs"]
    assert cli("off", "--root", root, "regenerate", "film", "--yes").returncode == 0
    status = cli(daemon, "--root", root, "status", "film")
    assert "live: rev-0001" in status.stdout and "dirty jobs: 0" in status.stdout, status.stdout


def test_bad_input_through_the_daemon_is_one_line_and_exit_2_as_here(daemon, films, tmp_path):
    cases = [
        (["--root", str(films), "status", "nosuch"], {}),
        (["--root", str(films), "plan"], {}),
        (["--root", str(films), "plan", "film", "--bogus"], {}),
        (["--root", str(tmp_path / "absent"), "history", "film"], {}),
        (["--root", str(films), "status", "film"], {"MOVIE_ASSETS_EVENT_LOG": "kafka"}),
    ]
    for args, extra in cases:
        here = cli("off", *args, **extra)
        there = cli(daemon, *args, **extra)
        assert there.returncode == here.returncode == 2, (args, there.stderr)
        assert there.stderr == here.stderr and "Traceback" not in there.stderr, args
        assert there.stdout == here.stdout
    # a caller's bad settings stay with that caller: the next command runs with its own
    assert cli(daemon, "--root", str(films), "status", "film").returncode == 0


def test_the_callers_folder_and_environment_are_used(daemon, films):
    by_folder = cli(daemon, "--root", films.name, "status", "film", cwd=films.parent)
    by_variable = cli(daemon, "status", "film", MOVIE_ASSETS_ROOT=str(films))
    assert by_folder.returncode == by_variable.returncode == 0, (by_folder.stderr, by_variable.stderr)
    assert "film live: rev-0002" in by_folder.stdout and by_folder.stdout == by_variable.stdout


def test_an_answered_command_loads_none_of_typer_pydantic_rich_or_the_store(daemon, films):
    probe = (
        "import sys, movie_assets.cli\n"
        f"sys.argv = ['movie-assets', '--root', {str(films)!r}, 'status', 'film']\n"
        "try:\n    movie_assets.cli.main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "watched = ('typer', 'click', 'pydantic', 'rich', 'msgspec', 'movie_assets.movie', 'movie_assets.store')\n"
        "print('LOADED', code, ' '.join(m for m in watched if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=_env(daemon), timeout=60)
    printed, _, loaded = out.stdout.rpartition("LOADED")
    assert "film live: rev-0002" in printed, out.stderr
    assert loaded.split() == ["0"], f"exit code and modules loaded: {loaded}"


def test_no_daemon_or_a_dead_socket_runs_the_command_here(films, tmp_path):
    dead = tmp_path / "dead.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(dead))
    listener.close()  # the file stays; nobody listens (a daemon killed with -9)
    for sock in (dead, tmp_path / "absent.sock", "off"):
        done = cli(sock, "--root", str(films), "status", "film")
        assert done.returncode == 0 and "film live: rev-0002" in done.stdout, (sock, done.stderr)


def test_a_daemon_whose_code_changed_steps_aside_and_the_command_runs_here(films, tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "module.py").write_text("x = 1\n")
    sock = tmp_path / "d.sock"
    daemon = subprocess.Popen(
        [*CLI, "daemon", "run", "--socket", str(sock), "--idle", "5m", "--code-root", str(code)],
        env=_env(sock),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while wire.connect(str(sock)) is None:
            assert daemon.poll() is None and time.monotonic() < deadline, daemon.stderr.read()
            time.sleep(0.05)
        assert cli(sock, "--root", str(films), "status", "film").returncode == 0
        assert served(sock) == 1
        (code / "module.py").write_text("x = 22\n")  # an upgrade or an edit of the code
        done = cli(sock, "--root", str(films), "status", "film")
        assert done.returncode == 0 and "film live: rev-0002" in done.stdout, done.stderr
        assert daemon.wait(timeout=30) == 0  # it made way for a daemon of the new code
        assert not sock.exists()
    finally:
        daemon.kill()
        daemon.wait()


def test_start_stop_status_and_the_idle_limit(tmp_path):
    sock = tmp_path / "d.sock"
    assert cli(sock, "daemon", "status").returncode == 1
    assert "no daemon answers" in cli(sock, "daemon", "status").stdout
    assert cli(sock, "daemon", "start").returncode == 0
    again = cli(sock, "daemon", "start")
    assert again.returncode == 0 and "already runs" in again.stdout
    assert "0 commands answered" in cli(sock, "daemon", "status").stdout  # asking its status is not a command
    stopped = cli(sock, "daemon", "stop")
    assert stopped.returncode == 0 and "daemon stopped" in stopped.stdout and not sock.exists()
    assert "no daemon answers" in cli(sock, "daemon", "stop").stdout
    assert cli(sock, "daemon", "start", "--idle", "1s").returncode == 0
    deadline = time.monotonic() + 30
    while sock.exists() and time.monotonic() < deadline:  # idle for a second: it stops by itself
        time.sleep(0.1)
    assert not sock.exists()
    bad = cli(sock, "daemon", "start", "--idle", "soon")
    assert bad.returncode == 2 and bad.stderr.startswith("error: not a duration"), bad.stderr


def test_only_read_only_commands_without_help_are_handed_over():
    assert wire.served_command(["plan", "film", "--json"]) == "plan"
    assert wire.served_command(["--root", "x", "status", "film"]) == "status"
    assert wire.served_command(["--root=x", "diff", "film", "rev-0001", "rev-0002"]) == "diff"
    for argv in (["edit", "film", "A=1"], ["regenerate", "film"], ["plan", "--help"], ["--help"], [], ["--root"]):
        assert wire.served_command(argv) is None, argv
    assert wire.SERVED == {"plan", "status", "show", "history", "diff"}


def test_the_client_knows_every_option_that_may_come_before_a_command():
    """The client finds the command by skipping `--root PATH`: any new app option must be taught to it."""
    import typer.main

    from movie_assets.cli import app

    group = typer.main.get_command(app)
    options = {name for param in group.params for name in param.opts}
    assert options - {"--install-completion", "--show-completion", "--help"} == {"--root"}


def test_a_request_from_another_installation_or_of_an_unknown_kind_is_refused(tmp_path):
    from movie_assets.cli.daemon_server import Daemon

    daemon = Daemon(str(tmp_path / "d.sock"), 60)
    base = {"op": "run", "argv": ["status", "film"], "executable": sys.executable, "package": wire.PACKAGE_DIR}
    assert daemon.refusal(base) is None
    assert daemon.refusal({**base, "executable": "/other/python"}) == "another installation"
    assert daemon.refusal({**base, "argv": ["regenerate", "film"]}) == "not a served command"
    assert daemon.refusal({**base, "op": "exec"}) == "unknown request"


@pytest.fixture
def in_process(tmp_path):
    """A daemon serving from a thread of this process (commands it would run are not sent to it)."""
    from movie_assets.cli.daemon import ask
    from movie_assets.cli.daemon_server import Daemon

    path = str(tmp_path / "d.sock")
    daemon = Daemon(path, 60)
    daemon.request_timeout = 0.5
    thread = threading.Thread(target=daemon.serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield path
    ask(path, "stop")
    thread.join(10)
    assert not thread.is_alive() and not os.path.exists(path)


def test_a_caller_that_connects_and_says_nothing_does_not_hold_up_the_next(in_process):
    from movie_assets.cli.daemon import ask

    silent = wire.connect(in_process)
    try:
        report = ask(in_process, "status", timeout=10)
        assert report is not None and report["pid"] == os.getpid()
    finally:
        silent.close()


def test_junk_on_the_socket_does_not_end_the_daemon(in_process):
    from movie_assets.cli.daemon import ask

    run = {"op": "run", "argv": ["status", "film"], "executable": sys.executable, "package": wire.PACKAGE_DIR}
    for junk in (
        b"\x00\x00\x00\x05[1,2]",
        b"\x00\x00\x00\x04{no}",
        b"\xff\xff",
        json.dumps({**run, "env": [1]}).encode(),
    ):
        sock = wire.connect(in_process)
        with sock:
            if junk.startswith(b"{"):
                wire.send(sock, json.loads(junk))
            else:
                sock.sendall(junk)
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(4096) == b""  # no answer, just closed
        assert ask(in_process, "status")["pid"] == os.getpid(), junk


def test_a_daemon_that_dies_mid_answer_leaves_the_command_to_run_here_printing_once(films, tmp_path):
    """The fake daemon reads the request, sends half an answer (a stdout frame, no exit code) and
    closes, as a daemon killed mid-answer would: the command runs here and prints only its own output."""
    path = str(tmp_path / "d.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    asked = []

    def half_answer() -> None:
        conn, _ = listener.accept()
        with conn:
            asked.append(wire.receive(conn))
            conn.sendall(wire.frame(b"o", b"HALF AN ANSWER\n"))

    thread = threading.Thread(target=half_answer, daemon=True)
    thread.start()
    try:
        done = cli(path, "--root", str(films), "status", "film")
    finally:
        thread.join(10)
        listener.close()
    assert asked and asked[0]["argv"] == ["--root", str(films), "status", "film"]
    assert done.returncode == 0 and "HALF AN ANSWER" not in done.stdout
    assert done.stdout.startswith("film live: rev-0002"), done.stdout


def _on_a_terminal(sock, *args: str) -> tuple[int, bytes]:
    """Run a command with its standard output on a pseudo-terminal 100 columns wide: its exit code and
    what the terminal received."""
    master, slave = os.openpty()
    env = _env(sock, COLUMNS="100", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([*CLI, *args], stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # the terminal's other end closed: the command ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks)


def test_on_a_terminal_the_daemon_prints_the_colours_and_width_a_fresh_process_prints(daemon, films):
    for args in (["status", "film"], ["plan", "film"]):
        here = _on_a_terminal("off", "--root", str(films), *args)
        there = _on_a_terminal(daemon, "--root", str(films), *args)
        assert there == here, args
        assert here[0] == 0 and b"\x1b[" in here[1], here  # a terminal's rendering: styled


@pytest.mark.parametrize("output", ["--all", "--json"])
def test_output_into_a_closed_pipe_ends_quietly_as_here_and_the_command_is_not_run_again(daemon, films, output):
    """`movie-assets plan film | head -1`: the reader is gone before the answer is written. Like a
    command run here (rich's tables, the JSON's bytes), it ends quietly with exit code 1."""
    probe = (
        "import sys, movie_assets.cli\n"
        f"sys.argv = ['movie-assets', '--root', {str(films)!r}, 'plan', 'film', {output!r}]\n"
        "try:\n    movie_assets.cli.main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "sys.stderr.write(f'CODE {code} typer loaded: {\"typer\" in sys.modules}\\n')\n"
    )
    before = served(daemon)
    for sock, local in (("off", True), (daemon, False)):
        proc = subprocess.Popen(
            [sys.executable, "-c", probe], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(sock)
        )
        proc.stdout.close()  # long before the command can write anything
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0
        assert err == f"CODE 1 typer loaded: {local}\n", (sock, err)
    assert served(daemon) == before + 1


def test_a_command_runs_with_the_callers_whole_environment_and_folder_and_the_daemons_come_back(tmp_path):
    """Not only MOVIE_ASSETS_* shape a command: AWS_PROFILE picks S3 credentials, HOME a config file."""
    import io

    from movie_assets.cli.daemon_server import _as_caller

    caller = {"AWS_PROFILE": "films", "HOME": str(tmp_path), "MOVIE_ASSETS_ROOT": "elsewhere"}
    mine, folder = dict(os.environ), os.getcwd()
    out, err = io.BytesIO(), io.BytesIO()
    with _as_caller({"env": caller, "cwd": str(tmp_path), "tty": [False, False]}, out, err):
        assert dict(os.environ) == caller and os.getcwd() == str(tmp_path)
        print("to the caller")
        sys.stdout.buffer.write(b"and bytes\n")
        print("an error", file=sys.stderr)
    assert dict(os.environ) == mine and os.getcwd() == folder
    assert (out.getvalue(), err.getvalue()) == (b"to the caller\nand bytes\n", b"an error\n")
