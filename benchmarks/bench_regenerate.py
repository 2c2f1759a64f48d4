"""No-op and one-segment-edit regenerate of a ~1,000-artefact movie, end to end through the CLI
(process start, plan, producers, commit), against the CLI's bare start-up (`movie-assets --help`).

    python benchmarks/bench_regenerate.py [--quick]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, size_parser, table  # noqa: E402

from movie_assets.pipeline.blueprint.load import load_builtin

CLI = [sys.executable, "-m", "movie_assets.cli"]


def cli(root: str, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([*CLI, "--root", root, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"movie-assets {' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}")
    return time.perf_counter() - start


def main() -> None:
    parser = size_parser(__doc__)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    segments = (
        10 if args.smoke else 100 if args.quick else 499
    )  # 2 artefacts per segment + music prompt, music, timeline, export
    repeat = 1 if args.smoke else 3 if args.quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        raw = yaml.safe_load(load_builtin("audio-only").to_yaml())
        raw["inputs"]["NumOfSegments"]["max"] = 1000
        blueprint = Path(tmp) / "long-audio.yaml"
        blueprint.write_text(yaml.safe_dump(raw))
        root = str(Path(tmp) / "builds")
        sets = ["--set", "Title=Benchmark", "--set", f"NumOfSegments={segments}"]
        cli(root, "init", "long", "-b", str(blueprint), *sets)
        texts = [f"SegmentText[{i}]=Line {i}." for i in range(segments)]
        cli(root, "edit", "long", *texts)
        # --yes: the price table puts this movie over the confirmation threshold, and no one is there to confirm
        first = cli(root, "regenerate", "long", "-c", "2", "--yes")
        pointer = json.loads((Path(root) / "long" / "current.json").read_text())
        artefacts = len(json.loads((Path(root) / "long" / pointer["manifest"]).read_text())["artefacts"])
        startup = sorted(_time_help() for _ in range(repeat))[repeat // 2]
        noop = sorted(cli(root, "regenerate", "long", "--yes") for _ in range(repeat))[repeat // 2]
        edits = []
        for k in range(repeat):
            cli(root, "edit", "long", f"SegmentText[{k % segments}]=Edited line {k}.")
            edits.append(cli(root, "regenerate", "long", "-c", "2", "--yes"))
        edit = sorted(edits)[repeat // 2]
        shutil.rmtree(root, ignore_errors=True)
    table(
        f"CLI regenerate of a {artefacts:,}-artefact movie (audio-only, {segments} segments), median of {repeat}",
        ["command", "seconds", "minus CLI start-up"],
        [
            ["movie-assets --help (start-up floor)", startup, 0.0],
            ["first regenerate (everything runs)", first, first - startup],
            ["no-op regenerate", noop, noop - startup],
            ["one-segment edit + regenerate", edit, edit - startup],
        ],
    )


def _time_help() -> float:
    start = time.perf_counter()
    subprocess.run([*CLI, "--help"], capture_output=True, check=True, env=os.environ)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
