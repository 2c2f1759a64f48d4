"""Captions: cues timed from the narration, as SRT and WebVTT files and as wrapped lines to burn in."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from movie_assets.store.models import TimelineDocument


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def cues(document: TimelineDocument) -> list[Cue]:
    """One cue per narrated clip that carries its text, in order of time."""
    found = [
        Cue(clip.start, clip.start + clip.duration, " ".join(clip.text.split()))
        for track in document.tracks
        if track.kind == "audio"
        for clip in track.clips
        if clip.text and clip.text.strip()
    ]
    return sorted(found, key=lambda cue: cue.start)


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` characters, every word kept: a caption is never cut short."""
    return textwrap.wrap(" ".join(text.split()), width=max(width, 8), break_long_words=True) or [""]


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def srt(items: Iterable[Cue], width: int = 42) -> str:
    blocks = []
    for number, cue in enumerate(items, start=1):
        lines = "\n".join(wrap(cue.text, width))
        blocks.append(f"{number}\n{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}\n{lines}\n")
    return "\n".join(blocks)


def vtt(items: Iterable[Cue], width: int = 42) -> str:
    blocks = ["WEBVTT\n"]
    for number, cue in enumerate(items, start=1):
        lines = "\n".join(wrap(cue.text, width)).replace("-->", "→")
        blocks.append(f"{number}\n{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}\n{lines}\n")
    return "\n".join(blocks)
