"""Vehicles, things in the sky and buildings for offline scenes, lit for day or night."""

from __future__ import annotations

import math

from movie_assets.producers.creatures import disc, person, poly


def vehicle(draw, x: int, ground: int, s: float, variant: str, night: bool, ink, horizon: int) -> None:
    paint = tuple(int(c * (0.35 if night else 1)) for c in (170, 50, 45))
    lamp = (255, 225, 140)
    if variant in ("ship", "boat", "sailboat"):
        water = horizon + (ground - horizon) // 3
        size = s * (1.6 if variant == "ship" else 0.8)
        poly(
            draw,
            [
                (x - size, water - size * 0.18),
                (x + size, water - size * 0.18),
                (x + size * 0.8, water),
                (x - size * 0.8, water),
            ],
            ink,
        )
        if variant == "ship":
            draw.rectangle(
                [x - size * 0.5, water - size * 0.38, x + size * 0.3, water - size * 0.18], fill=(200, 200, 195)
            )
            draw.rectangle([x - size * 0.1, water - size * 0.6, x + size * 0.05, water - size * 0.38], fill=paint)
        else:
            draw.line([(x, water - size * 0.18), (x, water - size * 1.3)], fill=ink, width=max(2, int(s * 0.02)))
            poly(
                draw,
                [
                    (x + size * 0.05, water - size * 1.25),
                    (x + size * 0.7, water - size * 0.25),
                    (x + size * 0.05, water - size * 0.25),
                ],
                (240, 236, 225),
            )
        return
    if variant == "bicycle":
        for dx in (-0.3, 0.3):
            draw.ellipse(
                [x + dx * s - s * 0.22, ground - s * 0.44, x + dx * s + s * 0.22, ground],
                outline=ink,
                width=max(2, int(s * 0.03)),
            )
        person(draw, x, ground - s * 0.25, s * 0.9, "adult", ink, night)
        return
    length = {"car": 0.9, "bus": 1.6, "truck": 1.4, "train": 2.6}[variant] * s
    height = {"car": 0.28, "bus": 0.55, "truck": 0.5, "train": 0.45}[variant] * s
    body = ground - s * 0.1
    draw.rectangle([x - length / 2, body - height, x + length / 2, body], fill=paint if variant != "train" else ink)
    if variant == "car":
        poly(
            draw,
            [
                (x - length * 0.3, body - height),
                (x - length * 0.18, body - height * 2),
                (x + length * 0.2, body - height * 2),
                (x + length * 0.32, body - height),
            ],
            paint,
        )
    if variant == "train":
        draw.rectangle([x + length * 0.35, body - height * 1.6, x + length * 0.42, body - height], fill=ink)
        for k in range(4):
            disc(
                draw,
                x + length * 0.38 - k * s * 0.25,
                body - height * (1.9 + 0.35 * k),
                s * (0.08 + 0.04 * k),
                s * (0.06 + 0.03 * k),
                (200, 200, 205),
            )
    for k in range(int(length / (s * 0.25))):
        wx = x - length / 2 + s * 0.1 + k * s * 0.25
        if variant in ("bus", "train") and wx + s * 0.15 < x + length / 2:
            draw.rectangle(
                [wx, body - height * 0.85, wx + s * 0.15, body - height * 0.5], fill=lamp if night else (170, 200, 220)
            )
    for dx in (-0.35, 0.35) if variant != "train" else (-0.45, -0.3, -0.15, 0.0, 0.15, 0.3, 0.45):
        disc(draw, x + dx * length, body, s * 0.1, s * 0.1, (20, 20, 24))


def sky(draw, x: int, y: int, s: float, variant: str, night: bool, ink) -> None:
    if variant in ("airplane", "plane"):
        disc(draw, x, y, s * 0.8, s * 0.08, ink)
        poly(draw, [(x - s * 0.1, y), (x + s * 0.2, y), (x - s * 0.2, y + s * 0.5), (x - s * 0.35, y + s * 0.5)], ink)
        poly(draw, [(x - s * 0.7, y), (x - s * 0.6, y), (x - s * 0.8, y - s * 0.3), (x - s * 0.88, y - s * 0.3)], ink)
    elif variant == "rocket":
        poly(
            draw,
            [
                (x, y - s * 0.7),
                (x + s * 0.12, y - s * 0.4),
                (x + s * 0.12, y + s * 0.3),
                (x - s * 0.12, y + s * 0.3),
                (x - s * 0.12, y - s * 0.4),
            ],
            (225, 225, 230),
        )
        poly(draw, [(x - s * 0.1, y + s * 0.3), (x + s * 0.1, y + s * 0.3), (x, y + s * 0.75)], (255, 160, 50))
    else:  # a hot-air balloon
        stripes = [(200, 60, 50), (240, 190, 70)]
        disc(draw, x, y, s * 0.4, s * 0.48, stripes[0])
        disc(draw, x, y, s * 0.15, s * 0.48, stripes[1])
        draw.rectangle([x - s * 0.08, y + s * 0.62, x + s * 0.08, y + s * 0.74], fill=ink)


def building(draw, x: int, ground: int, s: float, variant: str, night: bool) -> None:
    """A building standing on `ground`, about `s` tall, its windows lit at night."""
    wall = tuple(int(c * (0.3 if night else 1)) for c in (196, 180, 160))
    roof = tuple(int(c * (0.3 if night else 1)) for c in (120, 60, 50))
    lamp = (255, 220, 130) if night else (60, 70, 90)
    if variant in ("castle", "tower"):
        _fortress(draw, x, ground, s, variant, wall, roof)
    elif variant in ("windmill", "pyramid", "tent", "bridge"):
        _landmark(draw, x, ground, s, variant, night, wall, roof)
    elif variant in ("house", "cottage", "barn"):
        width = s * (0.9 if variant == "barn" else 0.6)
        if variant == "barn":
            wall = roof
        draw.rectangle([x - width / 2, ground - s * 0.4, x + width / 2, ground], fill=wall)
        poly(
            draw,
            [(x - width * 0.6, ground - s * 0.4), (x, ground - s * 0.75), (x + width * 0.6, ground - s * 0.4)],
            roof,
        )
        draw.rectangle([x - width * 0.3, ground - s * 0.3, x - width * 0.1, ground - s * 0.18], fill=lamp)
        draw.rectangle([x + width * 0.08, ground - s * 0.22, x + width * 0.25, ground], fill=(60, 40, 30))
    else:  # a church or a temple
        draw.rectangle([x - s * 0.35, ground - s * 0.45, x + s * 0.35, ground], fill=wall)
        if variant == "church":
            draw.rectangle([x - s * 0.08, ground - s * 0.9, x + s * 0.08, ground - s * 0.45], fill=wall)
            poly(draw, [(x - s * 0.1, ground - s * 0.9), (x, ground - s * 1.2), (x + s * 0.1, ground - s * 0.9)], roof)
        else:
            poly(
                draw,
                [(x - s * 0.42, ground - s * 0.45), (x, ground - s * 0.65), (x + s * 0.42, ground - s * 0.45)],
                wall,
            )
            for k in range(5):
                draw.rectangle(
                    [x - s * 0.3 + k * s * 0.14, ground - s * 0.42, x - s * 0.26 + k * s * 0.14, ground], fill=roof
                )


def _fortress(draw, x: int, ground: int, s: float, variant: str, wall, roof) -> None:
    width = s * (1.2 if variant == "castle" else 0.25)
    tall = s * (0.5 if variant == "castle" else 1.1)
    draw.rectangle([x - width / 2, ground - tall, x + width / 2, ground], fill=wall)
    towers = (-0.5, 0.5) if variant == "castle" else (0.0,)
    for dx in towers:
        tx, tw = x + dx * width, s * 0.14
        draw.rectangle([tx - tw, ground - tall * 1.5, tx + tw, ground], fill=wall)
        poly(
            draw,
            [(tx - tw * 1.2, ground - tall * 1.5), (tx, ground - tall * 1.9), (tx + tw * 1.2, ground - tall * 1.5)],
            roof,
        )
    for k in range(int(width / (s * 0.08))):
        if k % 2 == 0:
            draw.rectangle(
                [
                    x - width / 2 + k * s * 0.08,
                    ground - tall - s * 0.05,
                    x - width / 2 + (k + 1) * s * 0.08,
                    ground - tall,
                ],
                fill=wall,
            )
    draw.chord([x - s * 0.08, ground - s * 0.25, x + s * 0.08, ground + s * 0.05], 180, 360, fill=(40, 30, 25))


def _landmark(draw, x: int, ground: int, s: float, variant: str, night: bool, wall, roof) -> None:
    if variant == "windmill":
        poly(
            draw,
            [
                (x - s * 0.15, ground),
                (x + s * 0.15, ground),
                (x + s * 0.08, ground - s * 0.7),
                (x - s * 0.08, ground - s * 0.7),
            ],
            wall,
        )
        for k in range(4):
            a = math.radians(20 + 90 * k)
            draw.line(
                [(x, ground - s * 0.7), (x + math.cos(a) * s * 0.55, ground - s * 0.7 - math.sin(a) * s * 0.55)],
                fill=roof,
                width=max(3, int(s * 0.06)),
            )
    elif variant == "pyramid":
        poly(
            draw,
            [(x - s * 0.9, ground), (x, ground - s * 0.8), (x + s * 0.9, ground)],
            (205, 170, 110) if not night else (70, 60, 45),
        )
    elif variant == "tent":
        poly(draw, [(x - s * 0.35, ground), (x, ground - s * 0.4), (x + s * 0.35, ground)], (210, 120, 60))
    else:  # a bridge: an arch and its deck
        draw.arc(
            [x - s * 1.4, ground - s * 0.6, x + s * 1.4, ground + s * 0.6],
            180,
            360,
            fill=wall,
            width=max(4, int(s * 0.06)),
        )
        draw.rectangle([x - s * 1.6, ground - s * 0.62, x + s * 1.6, ground - s * 0.55], fill=wall)
