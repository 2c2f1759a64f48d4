"""Offline pictures that look like a film: a landscape painted from the prompt's words with the
subjects it names (subjects.py), a slow pan and zoom over it (the Ken Burns effect) and a readable, wrapped caption.

Everything is seeded by the prompt, so the same prompt paints the same scene: deterministic, fast
(numpy and Pillow, no model), and different prompts give different places, times of day and moods.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from movie_assets.producers.subjects import WATER_WORDS, draw_subjects

SCALE = 2  # scenes are painted at twice the frame size, so a zoom never upsamples
KEYWORDS = {
    "night": ("night", "moon", "star", "dark", "noir", "storm", "midnight", "evening"),
    "water": (
        "sea",
        "ocean",
        "harbour",
        "harbor",
        "lighthouse",
        "island",
        "lake",
        "river",
        "bottle",
        "shore",
        "beach",
        *WATER_WORDS,
    ),
    "city": ("city", "street", "bridge", "train", "station", "town", "tower"),
    "forest": ("forest", "tree", "wood", "garden", "road", "mountain", "village"),
    "desert": ("desert", "dune", "sand"),
    "lighthouse": ("lighthouse",),
}


def _has(text: str, kind: str) -> bool:
    return any(word in text for word in KEYWORDS[kind])


def _sky(width: int, height: int, night: bool, rng: np.random.Generator) -> np.ndarray:
    if night:
        top, horizon = np.array([8, 12, 38]), np.array([58, 48, 96])
    else:
        warmth = rng.uniform(0, 1)  # from a blue noon to an orange dusk
        top = np.array([60, 120, 200]) * (1 - warmth) + np.array([70, 60, 140]) * warmth
        horizon = np.array([200, 220, 235]) * (1 - warmth) + np.array([250, 170, 110]) * warmth
    ramp = np.linspace(0, 1, height)[:, None, None] ** 1.3
    sky = top * (1 - ramp) + horizon * ramp
    return np.repeat(sky, width, axis=1)


def _ridge(width: int, height: int, base: float, rough: float, rng: np.random.Generator) -> np.ndarray:
    """A hill line about `rough` high: as many turns across the frame as its width holds heights, so a
    tall frame (9:16) shows a few hills, not spikes."""
    count = max(6, int(24 * width / height)) + 2
    steps = np.cumsum(rng.normal(0, 2 * rough / np.sqrt(count), count))
    line = np.interp(np.arange(width), np.linspace(0, width, len(steps)), steps)
    return base + line - line.mean()


def paint(width: int, height: int, seed: int, prompt: str) -> Image.Image:
    """A landscape for `prompt` at `SCALE` times the given frame size."""
    w, h = width * SCALE, height * SCALE
    text = prompt.lower()
    rng = np.random.default_rng(seed)
    night = _has(text, "night")
    pixels = _sky(w, h, night, rng)
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    if night:
        for x, y in zip(rng.integers(0, w, 120), rng.integers(0, h // 2, 120), strict=True):
            draw.point((int(x), int(y)), fill=(230, 230, 255))
    cx, cy, r = int(rng.integers(w // 5, 4 * w // 5)), int(rng.integers(h // 8, h // 3)), h // 24
    glow = (240, 240, 220) if night else (255, 236, 180)
    halo = Image.new("L", (w, h), 0)  # a blurred disc: a soft glow around the sun or moon
    ImageDraw.Draw(halo).ellipse([cx - 3 * r, cy - 3 * r, cx + 3 * r, cy + 3 * r], fill=110)
    image.paste(Image.new("RGB", (w, h), glow), (0, 0), halo.filter(ImageFilter.GaussianBlur(r * 2)))
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=glow)
    horizon = h * (0.62 if _has(text, "water") else 0.7)
    far, near = np.array([120, 130, 160]), np.array([40, 60, 50])
    if _has(text, "desert"):
        far, near = np.array([215, 170, 120]), np.array([170, 120, 70])
    if night:
        far, near = far * 0.35, near * 0.3
    for layer in range(3):  # far hills pale (haze), near ones dark
        depth = layer / 2
        ridge = _ridge(w, h, horizon - h * (0.16 - 0.06 * layer), h * (0.06 - 0.015 * layer), rng)
        color = tuple(int(c) for c in far * (1 - depth) + near * depth)
        draw.polygon([(0, h), *[(x, float(ridge[x])) for x in range(0, w, 4)], (w, h)], fill=color)
    if _has(text, "city"):
        _skyline(draw, w, h, horizon, night, rng)
    if _has(text, "forest"):
        _trees(draw, w, h, rng, night)
    if _has(text, "water"):
        _water(image, draw, w, h, int(horizon), night)
    if _has(text, "lighthouse"):
        _lighthouse(draw, int(w * rng.uniform(0.6, 0.8)), int(horizon), h, night)
    return _styled(draw_subjects(image, text, horizon, night, rng), text)


def _skyline(draw: ImageDraw.ImageDraw, w: int, h: int, horizon: float, night: bool, rng) -> None:
    x = 0
    while x < w:
        bw, bh = int(rng.integers(w // 30, w // 12)), int(rng.integers(h // 10, h // 3))
        top = int(horizon) - bh
        draw.rectangle([x, top, x + bw, h], fill=(28, 30, 40) if night else (90, 95, 110))
        if night:
            for wy in range(top + 6, int(horizon) - 4, 10):
                for wx in range(x + 4, x + bw - 4, 8):
                    if rng.uniform() < 0.35:
                        draw.rectangle([wx, wy, wx + 3, wy + 4], fill=(250, 210, 120))
        x += bw + int(rng.integers(2, 8))


def _trees(draw: ImageDraw.ImageDraw, w: int, h: int, rng, night: bool) -> None:
    for _ in range(28):
        x, base, size = int(rng.integers(0, w)), int(rng.integers(int(h * 0.8), h)), int(rng.integers(h // 14, h // 6))
        green = (18, 40, 28) if night else (30, int(rng.integers(70, 110)), 45)
        draw.polygon([(x, base - size * 2), (x - size // 2, base), (x + size // 2, base)], fill=green)


def _water(image: Image.Image, draw: ImageDraw.ImageDraw, w: int, h: int, horizon: int, night: bool) -> None:
    sky = image.crop((0, 0, w, horizon)).transpose(Image.Transpose.FLIP_TOP_BOTTOM).resize((w, h - horizon))
    tint = Image.new("RGB", sky.size, (10, 30, 60) if night else (30, 80, 120))
    image.paste(Image.blend(sky, tint, 0.55), (0, horizon))
    for y in range(horizon + 4, h, 7):  # glints on the swell
        draw.line([(0, y), (w, y)], fill=(150, 170, 200) if not night else (70, 80, 120), width=1)


def _lighthouse(draw: ImageDraw.ImageDraw, x: int, horizon: int, h: int, night: bool) -> None:
    top, width = horizon - h // 3, h // 22
    draw.polygon(
        [(x - width, horizon), (x + width, horizon), (x + width // 2, top), (x - width // 2, top)], fill=(235, 235, 230)
    )
    for band in range(3):
        y = top + (horizon - top) * (band * 2 + 1) // 7
        draw.rectangle([x - width, y, x + width, y + (horizon - top) // 9], fill=(190, 40, 40))
    lamp = (255, 240, 160) if night else (250, 250, 220)
    draw.rectangle([x - width // 2, top - width, x + width // 2, top], fill=lamp)
    if night:
        draw.polygon([(x, top - width // 2), (x - h, top - h // 8), (x - h, top + h // 10)], fill=(120, 115, 90))


def _styled(image: Image.Image, text: str) -> Image.Image:
    if "noir" in text:
        image = image.convert("L").point(lambda v: min(255, int(v * 1.25))).convert("RGB")
    elif "watercolor" in text:
        image = image.filter(ImageFilter.GaussianBlur(3)).filter(ImageFilter.EDGE_ENHANCE)
    elif "pastel" in text:
        image = Image.blend(image, Image.new("RGB", image.size, (245, 235, 240)), 0.35)
    return image


def caption_overlay(width: int, height: int, text: str) -> Image.Image | None:
    """A translucent band with the caption wrapped to at most three readable lines (RGBA), or None."""
    text = " ".join(text.split())
    if not text:
        return None
    font = ImageFont.load_default(size=max(10, height // 15))
    wrapped = textwrap.wrap(text, width=max(20, width // 6))
    lines = wrapped[:3]
    if len(wrapped) > 3:
        lines[-1] = lines[-1][: max(0, len(lines[-1]) - 1)].rstrip() + "…"
    line_h = font.size + 4
    band = len(lines) * line_h + 8
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle([0, height - band, width, height], fill=(0, 0, 0, 165))
    for i, line in enumerate(lines):
        x = (width - draw.textlength(line, font=font)) / 2
        draw.text((x, height - band + 4 + i * line_h), line, fill=(255, 255, 255, 255), font=font)
    return overlay


def ken_burns(scene: Image.Image, width: int, height: int, frames: int, seed: int) -> Iterator[Image.Image]:
    """`frames` views sliding and zooming over `scene` (painted at SCALE x the frame size)."""
    rng = np.random.default_rng(seed)
    zoom_in = bool(rng.integers(0, 2))
    start = (float(rng.uniform(0, 1)), float(rng.uniform(0, 1)))
    end = (float(rng.uniform(0, 1)), float(rng.uniform(0, 1)))
    sw, sh = scene.size
    for n in range(frames):
        t = n / max(frames - 1, 1)
        t = t * t * (3 - 2 * t)  # ease in and out
        zoom = 0.62 + 0.2 * (t if zoom_in else 1 - t)  # the share of the scene in view
        cw, ch = sw * zoom, sh * zoom
        fx, fy = start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t
        left, top = (sw - cw) * fx, (sh - ch) * fy
        yield scene.resize((width, height), Image.Resampling.BILINEAR, box=(left, top, left + cw, top + ch))
