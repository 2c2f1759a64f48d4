"""Running imageio-ffmpeg's bundled ffmpeg, and reading what a media file holds."""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass

from movie_assets.errors import ProducerError

BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"]


@functools.cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run(args: list[str], what: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """ffmpeg with `args`; ProducerError naming `what` and ffmpeg's last words when it fails."""
    quiet = ["-nostdin"] if stdin is None else []  # ffmpeg must not wait on a terminal it was not given
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", *quiet, "-y", *args], input=stdin, capture_output=True)
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise ProducerError(f"{what}: ffmpeg failed: {' | '.join(tail)[:500]}")
    return done


@dataclass(frozen=True)
class MediaInfo:
    width: int | None
    height: int | None
    fps: float | None
    duration: float
    sample_rate: int | None
    channels: int | None


_FPS = re.compile(r"([\d.]+) (?:fps|tbr)")
_AUDIO = re.compile(r"Audio: .*?, (\d+) Hz, (mono|stereo|[\d.]+ channels|\d\.\d)")
_DURATION = re.compile(r"Duration: (\d+):(\d+):([\d.]+)")


def probe(path: str) -> MediaInfo:
    """Size, frame rate, duration, sample rate and channels of a media file (ffmpeg -i; the bundled
    ffmpeg comes without ffprobe)."""
    text = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", path], capture_output=True).stderr.decode(
        "utf-8", "replace"
    )
    width = height = fps = rate = channels = None
    video_line = next((line for line in text.splitlines() if "Video:" in line), "")
    size = re.search(r", (\d{2,5})x(\d{2,5})", video_line)
    if size:
        width, height = int(size.group(1)), int(size.group(2))
        found = _FPS.search(video_line)
        fps = float(found.group(1)) if found else None
    audio = _AUDIO.search(text)
    if audio:
        rate = int(audio.group(1))
        channels = {"mono": 1, "stereo": 2}.get(audio.group(2), 2)
    duration = _DURATION.search(text)
    seconds = (
        int(duration.group(1)) * 3600 + int(duration.group(2)) * 60 + float(duration.group(3)) if duration else 0.0
    )
    return MediaInfo(width, height, fps, seconds, rate, channels)
