"""Mastering a film's sound: the numpy loudness meter and `audio.master`, against ffmpeg's ebur128 filter
measuring the same samples and against ffmpeg alone writing them as a WAV (the floor: the file has to be
written), all in the same run.

    python benchmarks/bench_mastering.py [--quick | --smoke]

The mix stands for a 30-segment film's sound track (110 s at 48 kHz stereo): chords under a voice-like
band of tones that stops and starts, and a few drum hits the gain pushes over the limiter's ceiling in
the `peaks` rows (there the limiter, an ffmpeg run, is part of the cost).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, size_parser, table, timed  # noqa: E402

from movie_assets.render import audio, loudness  # noqa: E402
from movie_assets.render.ffmpeg import run  # noqa: E402
from movie_assets.render.settings import SAMPLE_RATE  # noqa: E402


def sound_track(seconds: float, peaks: bool) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    chords = sum(np.sin(2 * np.pi * f * t) for f in (110, 165, 220, 277)) * 0.02
    speaking = (np.sin(2 * np.pi * t / 7) > -0.3).astype(np.float32)
    voice = sum(np.sin(2 * np.pi * f * t + f) for f in (180, 360, 540, 900)) * 0.03 * speaking
    left = chords + voice + 0.003 * np.random.default_rng(0).standard_normal(len(t))
    mix = np.stack([left, np.roll(left, 240)], axis=1).astype(np.float32)
    if peaks:
        for start in range(SAMPLE_RATE, len(mix), 9 * SAMPLE_RATE):
            mix[start : start + SAMPLE_RATE // 100] += 0.3
    return mix


def main() -> None:
    args = size_parser(__doc__).parse_args()
    seconds = 5 if args.smoke else 30 if args.quick else 110
    repeat = 1 if args.smoke else 5
    print(f"machine: {machine()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for peaks in (False, True):
            mix = sound_track(seconds, peaks)
            raw = f"{tmp}/mix.f32"
            mix.astype("<f4").tofile(raw)
            source = ["-f", "f32le", "-ac", "2", "-ar", str(SAMPLE_RATE), "-i", raw]
            wav_out = [*source, "-c:a", "pcm_s16le", f"{tmp}/floor.wav"]
            floor, _ = timed(lambda args=wav_out: run(args, "floor"), repeat)
            ours, _ = timed(lambda mix=mix: loudness.measure(mix, SAMPLE_RATE), repeat)
            metered = [*source, "-af", "ebur128=peak=true", "-f", "null", "-"]
            theirs, _ = timed(lambda args=metered: run(args, "measure"), repeat)
            wav, measured = timed(lambda mix=mix: audio.master(mix, tmp, "wav", "pcm_s16le"), repeat)
            aac, _ = timed(lambda mix=mix: audio.master(mix, tmp, "aac", "aac"), repeat)
            kind = "peaks" if peaks else "plain"
            rows += [
                [f"{kind}: floor, ffmpeg writes the WAV", floor, 1.0],
                [f"{kind}: measure (numpy meter)", ours, ours / floor],
                [f"{kind}: measure (ffmpeg ebur128, true peak)", theirs, theirs / floor],
                [f"{kind}: master to WAV, measured ({measured[1]['integrated_lufs']} LUFS)", wav, wav / floor],
                [f"{kind}: master to AAC, measured", aac, aac / floor],
            ]
    table(f"Mastering {seconds} s of stereo sound (median of {repeat})", ["what", "seconds", "x floor"], rows)


if __name__ == "__main__":
    main()
