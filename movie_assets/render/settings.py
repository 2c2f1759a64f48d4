"""Render settings: inputs of a movie shared by every blueprint that makes a picture."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:3": (4, 3)}
RESOLUTIONS = {"480p": 480, "720p": 720, "1080p": 1080}  # the frame's short side
TITLE_SECONDS = 2.5
SAMPLE_RATE = 48_000  # every mix and final cut: 48 kHz stereo


@dataclass(frozen=True)
class RenderSettings:
    """What the final cut is rendered at and how shots are joined."""

    width: int = 1280
    height: int = 720
    fps: int = 24
    transition: float = 0.5  # seconds of cross-fade between shots; 0 cuts hard
    captions: str = "sidecar"  # off | sidecar (SRT and WebVTT beside the film) | burned (also in the picture)
    fit: str = "crop"  # a shot of another aspect: crop (fill the frame) or pad (letterbox)

    @classmethod
    def of(cls, values: dict[str, Any]) -> RenderSettings:
        """From a producer's inputs (aspect, resolution, fps, transition, captions, fit), defaults elsewhere."""
        aspect = ASPECTS.get(str(values.get("aspect") or "16:9"), (16, 9))
        short = RESOLUTIONS.get(str(values.get("resolution") or "720p"), 720)
        width, height = size_of(aspect, short)
        fps = int(values.get("fps") or 24)
        transition = float(values.get("transition") if values.get("transition") is not None else 0.5)
        captions = str(values.get("captions") or "sidecar")
        fit = str(values.get("fit") or "crop")
        return cls(width, height, max(1, fps), max(0.0, transition), captions, fit)

    @property
    def aspect_ratio(self) -> str:
        """`16:9`, `9:16`, ... as video and image models name it."""
        for name, (w, h) in ASPECTS.items():
            if abs(self.width * h - self.height * w) <= max(w, h):
                return name
        return f"{self.width}:{self.height}"

    @property
    def resolution(self) -> str:
        return f"{min(self.width, self.height)}p"


def size_of(aspect: tuple[int, int], short: int) -> tuple[int, int]:
    """Frame size of an aspect at a short side, both even (H.264 needs even sizes)."""
    w, h = aspect
    if w >= h:
        return _even(short * w / h), _even(short)
    return _even(short), _even(short * h / w)


def _even(value: float) -> int:
    return int(round(value / 2)) * 2
