"""The command line as a user meets it, each command a fresh process: `--help`, `status` on a small
movie, and `plan --json` on a 10,001-artefact movie after one edit and with a 100,000-line input
tail, against the bare interpreter (`python -c pass`) in the same run.

    python benchmarks/bench_cli.py [--quick | --smoke]

Our modules are byte-compiled first: an installed package ships its `.pyc` files, and a machine with
PYTHONDONTWRITEBYTECODE set (this one) would otherwise recompile them on every start.
"""

from __future__ import annotations

import compileall
import subprocess
import sys
import tempfile
import time
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


def medians(commands: list[list[str]], runs: int) -> list[float]:
    """Median wall-clock seconds of each command (each must succeed), run round-robin `runs` times: a
    burst of load on this shared machine then falls on every command alike, the floor included."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for command, samples in zip(commands, times, strict=True):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            samples.append(time.perf_counter() - start)
            if done.returncode != 0:
                what = " ".join(command[2:6])
                raise SystemExit(f"{what} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return [sorted(samples)[len(samples) // 2] for samples in times]


def main() -> None:
    parser = size_parser(__doc__)
    args = parser.parse_args()
    segments = 20 if args.smoke else 500 if args.quick else 5_000
    tail = 200 if args.smoke else 10_000 if args.quick else 100_000
    runs = 1 if args.smoke else 9
    print(f"machine: {machine()}")
    compileall.compile_dir(Path(movie_assets.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        small = StorageContext(StorageConfig.from_url(f"{tmp}/small"))
        demo = MovieStore(small, "film")
        demo.init(load_builtin("audio-only"), {"Title": "Small", "NumOfSegments": 2})
        subprocess.run([*CLI, "--root", f"{tmp}/small", "regenerate", "film", "--yes"], check=True, capture_output=True)
        one = f"{tmp}/one"
        build_movie(one, segments, 1)
        many = f"{tmp}/tail"
        build_movie(many, segments, tail)
        commands = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "movie-assets --help": [*CLI, "--help"],
            "movie-assets status (2 segments)": [*CLI, "--root", f"{tmp}/small", "status", "film"],
            f"movie-assets plan --json, {2 * segments + 1:,} artefacts, one edit": [
                *CLI,
                "--root",
                one,
                "plan",
                "bench",
                "--json",
            ],
            f"movie-assets plan --json, {2 * segments + 1:,} artefacts, {tail:,}-line tail": [
                *CLI,
                "--root",
                many,
                "plan",
                "bench",
                "--json",
            ],
        }
        rows = list(zip(commands, medians(list(commands.values()), runs), strict=True))
        floor = rows[0][1]
    table(
        f"CLI commands, each a fresh process, median of {runs} runs taken round-robin, seconds",
        ["command", "seconds", "above the bare interpreter"],
        [[name, value, value - floor] for name, value in rows],
    )


if __name__ == "__main__":
    main()
