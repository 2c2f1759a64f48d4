"""The command line as a user meets it, each command a fresh process: `--help`, `status` on a small
movie, and `plan --json` on a 10,001-artefact movie after one edit and with a 100,000-line input
tail, against the bare interpreter (`python -c pass`) in the same run. Every plan follows an edit
appended to the movie (not timed), as a user edits and then plans. The first plan of the tail folds
all of it and stores the fold (index/folds/); it is timed on its own, once.

    python benchmarks/bench_cli.py [--quick | --smoke]

Our modules are byte-compiled first: an installed package ships its `.pyc` files, and a machine with
PYTHONDONTWRITEBYTECODE set (this one) would otherwise recompile them on every start.
"""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, size_parser, table  # noqa: E402
from bench_planner import build_movie  # noqa: E402

import movie_assets
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext

CLI = [sys.executable, "-m", "movie_assets.cli"]


@dataclass
class Command:
    """One command line, its environment, and what happens before each run (not timed)."""

    argv: list[str]
    env: dict[str, str]
    before: Callable[[int], None] | None = None


def medians(commands: list[Command], runs: int) -> list[float]:
    """Median wall-clock seconds of each command (each must succeed), run round-robin `runs` times: a
    burst of load on this shared machine then falls on every command alike, the floor included."""
    times: list[list[float]] = [[] for _ in commands]
    for round_ in range(runs):
        for command, samples in zip(commands, times, strict=True):
            if command.before:
                command.before(round_)
            samples.append(timed(command))
    return [sorted(samples)[len(samples) // 2] for samples in times]


def timed(command: Command) -> float:
    """Seconds one run of `command` took."""
    start = time.perf_counter()
    done = subprocess.run(command.argv, capture_output=True, text=True, env=command.env)
    took = time.perf_counter() - start
    if done.returncode != 0:
        what = " ".join(command.argv[2:6])
        raise SystemExit(f"{what} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return took


def editing(root: str, key: str) -> Callable[[int], None]:
    """An edit of `key` appended before each run, as a user edits and then plans."""
    store = MovieStore(StorageContext(StorageConfig.from_url(root)), "bench")
    return lambda round_: store.edit({key: f"bench round {round_} edit"})


GOALS = {"--help": 0.15, "status": 0.3, "tail": 0.5}


def main() -> None:
    parser = size_parser(__doc__)
    args = parser.parse_args()
    segments = 20 if args.smoke else 500 if args.quick else 5_000
    tail = 200 if args.smoke else 10_000 if args.quick else 100_000
    runs = 1 if args.smoke else 9
    print(f"machine: {machine()}")
    compileall.compile_dir(Path(movie_assets.__file__).parent, quiet=1)
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        small = StorageContext(StorageConfig.from_url(f"{tmp}/small"))
        demo = MovieStore(small, "film")
        demo.init(load_builtin("audio-only"), {"Title": "Small", "NumOfSegments": 2})
        regenerate = [*CLI, "--root", f"{tmp}/small", "regenerate", "film", "--yes"]
        subprocess.run(regenerate, check=True, env=env, capture_output=True)
        one, many = f"{tmp}/one", f"{tmp}/tail"
        build_movie(one, segments, 1)
        build_movie(many, segments, tail)
        edit_one, edit_many = editing(one, "SegmentText[1]"), editing(many, "SegmentText[1]")
        artefacts = f"{2 * segments + 1:,} artefacts"
        plan_many = [*CLI, "--root", many, "plan", "bench", "--json"]
        first_tail = timed(Command(plan_many, env))
        commands = {
            "python -c pass (floor)": (Command([sys.executable, "-c", "pass"], env), None),
            "movie-assets --help": (Command([*CLI, "--help"], env), GOALS["--help"]),
            "movie-assets status (2 segments)": (
                Command([*CLI, "--root", f"{tmp}/small", "status", "film"], env),
                GOALS["status"],
            ),
            f"movie-assets plan --json, {artefacts}, one edit": (
                Command([*CLI, "--root", one, "plan", "bench", "--json"], env, edit_one),
                None,
            ),
            f"movie-assets plan --json, {artefacts}, {tail:,}-line tail": (
                Command(plan_many, env, edit_many),
                GOALS["tail"],
            ),
        }
        figures = medians([command for command, _ in commands.values()], runs)
        floor = figures[0]
    table(
        f"CLI commands, each a fresh process, median of {runs} runs taken round-robin, seconds. Every plan "
        "follows an edit of the movie (not timed)",
        ["command", "seconds", "above the bare interpreter", "goal"],
        [
            [name, value, value - floor, "-" if goal is None else f"< {goal}"]
            for (name, (_, goal)), value in zip(commands.items(), figures, strict=True)
        ],
    )
    table(
        "The tail's first plan (folds every line and stores the fold), seconds, once",
        ["step", "seconds"],
        [[f"first plan --json, {artefacts}, {tail:,}-line tail", first_tail]],
    )


if __name__ == "__main__":
    main()
