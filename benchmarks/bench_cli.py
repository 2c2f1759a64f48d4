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


def seconds(command: list[str], runs: int) -> float:
    """Median wall-clock seconds of a command run `runs` times (it must succeed)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command[2:6])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = size_parser(__doc__)
    args = parser.parse_args()
    segments = 20 if args.smoke else 500 if args.quick else 5_000
    tail = 200 if args.smoke else 10_000 if args.quick else 100_000
    runs = 1 if args.smoke else 5
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
        floor = seconds([sys.executable, "-c", "pass"], runs)
        rows = [
            ("python -c pass (floor)", floor),
            ("movie-assets --help", seconds([*CLI, "--help"], runs)),
            ("movie-assets status (2 segments)", seconds([*CLI, "--root", f"{tmp}/small", "status", "film"], runs)),
            (
                f"movie-assets plan --json, {2 * segments + 1:,} artefacts, one edit",
                seconds([*CLI, "--root", one, "plan", "bench", "--json"], runs),
            ),
            (
                f"movie-assets plan --json, {2 * segments + 1:,} artefacts, {tail:,}-line tail",
                seconds([*CLI, "--root", many, "plan", "bench", "--json"], runs),
            ),
        ]
    table(
        f"CLI commands, each a fresh process, median of {runs}, seconds",
        ["command", "seconds", "above the bare interpreter"],
        [[name, value, value - floor] for name, value in rows],
    )


if __name__ == "__main__":
    main()
