"""The film: the offline demo end to end (3 segments, 720p, 24 fps), a full export of a longer film and
the re-export after a one-segment edit, against ffmpeg alone encoding the same number of frames at the
same size and settings (the floor) in the same run.

    python benchmarks/bench_film.py [--quick | --smoke]

Goals: the demo under 20 s; a one-segment re-export at most 0.2x the full export.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, size_parser, table  # noqa: E402

from movie_assets.cli.demo import DEMO_INPUTS, demo_inputs  # noqa: E402
from movie_assets.movie import MovieStore  # noqa: E402
from movie_assets.pipeline.blueprint.load import load_builtin  # noqa: E402
from movie_assets.producers.registry import default_registry  # noqa: E402
from movie_assets.render.cut import ENCODE  # noqa: E402
from movie_assets.render.ffmpeg import run  # noqa: E402
from movie_assets.store.config import StorageConfig  # noqa: E402
from movie_assets.store.storage import StorageContext  # noqa: E402

LINES = [
    "The keeper climbs the stairs at dusk and lights the lamp.",
    "A ship passes far out, its lights small against the dark.",
    "The radio crackles with a voice from long ago.",
    "She writes the words down and reads them back to the sea.",
    "By morning the storm has gone and the gulls return.",
]


def floor_seconds(seconds: float, width: int, height: int, fps: int, workdir: str) -> float:
    """ffmpeg alone encoding `seconds` of moving picture at this size and rate, with the same settings."""
    start = time.perf_counter()
    source = f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds:.3f}"
    run(["-f", "lavfi", "-i", source, *ENCODE, f"{workdir}/floor.mp4"], "floor")
    return time.perf_counter() - start


def main() -> None:
    args = size_parser(__doc__).parse_args()
    segments = 2 if args.smoke else 10 if args.quick else 30
    resolution = "480p" if args.smoke else "720p"
    smoke = {"Resolution": "480p", "Fps": 12, "Duration": 5} if args.smoke else {}
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        storage = StorageContext(StorageConfig.from_url(f"{tmp}/b"))
        demo = MovieStore(storage, "demo")
        bp = load_builtin("video-audio-music")
        demo.init(bp, {**demo_inputs(bp), **smoke, **({"NumOfSegments": 1} if args.smoke else {})})
        started = time.perf_counter()
        assert demo.regenerate(default_registry()).committed
        demo_seconds = time.perf_counter() - started

        film = MovieStore(storage, "film")
        texts = [LINES[i % len(LINES)] for i in range(segments)]
        inputs = {
            "Title": DEMO_INPUTS["Title"],
            "NumOfSegments": segments,
            "SegmentText": texts,
            "Resolution": resolution,
            **smoke,
        }
        film.init(bp, inputs)
        first = film.regenerate(default_registry())
        assert first.committed and first.run is not None
        full = first.run.results["export"].duration_s
        film.edit({f"SegmentText[{segments // 2}]": "A different line, for one segment only."})
        again = film.regenerate(default_registry())
        assert again.committed and again.run is not None
        incremental = again.run.results["export"].duration_s
        document = film.current()[0].timeline
        floor = floor_seconds(document.duration, document.width, document.height, document.fps, tmp)
    table(
        f"The offline film, seconds ({resolution}, 24 fps)",
        ["what", "seconds", "ratio", "goal"],
        [
            ["demo: 3 segments, every job, end to end", demo_seconds, "-", "< 20 s"],
            [f"floor: ffmpeg alone encodes {document.duration:.1f} s of picture", floor, 1.0, "-"],
            [f"full export of {segments} segments ({document.duration:.1f} s)", full, full / floor, "-"],
            ["re-export after a one-segment edit", incremental, incremental / full, "<= 0.2x the full export"],
        ],
    )


if __name__ == "__main__":
    main()
