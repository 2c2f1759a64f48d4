"""People and creatures as silhouettes for offline scenes: figures, four-legged animals, birds and sea
life, each drawn from a few proportions so one function serves a family."""

from __future__ import annotations

import math

from PIL import ImageDraw


def poly(draw: ImageDraw.ImageDraw, points, fill) -> None:
    draw.polygon([(float(x), float(y)) for x, y in points], fill=fill)


def disc(draw: ImageDraw.ImageDraw, x: float, y: float, rx: float, ry: float, fill) -> None:
    draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=fill)


def person(draw, x: int, ground: int, s: float, variant: str, ink, night: bool) -> None:
    head, top = s * 0.11, ground - s
    if variant == "robot":
        draw.rectangle([x - s * 0.16, top + s * 0.22, x + s * 0.16, ground - s * 0.42], fill=ink)
        draw.rectangle([x - s * 0.1, top, x + s * 0.1, top + s * 0.2], fill=ink)
        eye = (120, 220, 255) if night else (200, 60, 40)
        draw.rectangle([x - s * 0.06, top + s * 0.07, x + s * 0.06, top + s * 0.1], fill=eye)
        for side in (-1, 1):
            inner, outer = sorted((x + side * s * 0.05, x + side * s * 0.12))
            draw.rectangle([inner, ground - s * 0.42, outer, ground], fill=ink)
        return
    disc(draw, x, top + head, head, head * 1.1, ink)
    shoulders, hips = top + head * 2.3, ground - s * 0.45
    poly(draw, [(x - s * 0.13, shoulders), (x + s * 0.13, shoulders), (x + s * 0.11, hips), (x - s * 0.11, hips)], ink)
    for side, lean in ((-1, -0.06), (1, 0.07)):  # a step: one leg forward, one back
        poly(
            draw,
            [
                (x + side * s * 0.02, hips),
                (x + side * s * 0.1, hips),
                (x + lean * s + side * s * 0.05, ground),
                (x + lean * s, ground),
            ],
            ink,
        )
        poly(
            draw,
            [
                (x + side * s * 0.12, shoulders),
                (x + side * s * 0.16, shoulders + s * 0.04),
                (x + side * s * 0.2, hips + s * 0.02),
                (x + side * s * 0.15, hips + s * 0.03),
            ],
            ink,
        )
    if variant == "crown":
        gold = (230, 190, 70)
        poly(
            draw,
            [
                (x - head, top + head * 0.3),
                (x - head, top - head * 0.6),
                (x - head * 0.5, top - head * 0.1),
                (x, top - head * 0.8),
                (x + head * 0.5, top - head * 0.1),
                (x + head, top - head * 0.6),
                (x + head, top + head * 0.3),
            ],
            gold,
        )
        poly(
            draw,
            [
                (x - s * 0.13, shoulders),
                (x + s * 0.13, shoulders),
                (x + s * 0.2, ground - s * 0.05),
                (x - s * 0.2, ground - s * 0.05),
            ],
            ink,
        )
    elif variant == "hat":
        draw.rectangle([x - head * 1.8, top + head * 0.4, x + head * 1.8, top + head * 0.6], fill=ink)
        draw.rectangle([x - head * 0.9, top - head * 0.5, x + head * 0.9, top + head * 0.5], fill=ink)
    elif variant == "knight":
        draw.line(
            [(x + s * 0.18, hips), (x + s * 0.32, top - s * 0.05)], fill=(200, 200, 210), width=max(2, int(s * 0.025))
        )
        disc(draw, x - s * 0.16, shoulders + s * 0.18, s * 0.09, s * 0.12, ink)


QUADRUPEDS = {  # body length, body height, leg length, neck length, head size (all × size)
    "dog": (0.55, 0.22, 0.28, 0.15, 0.12),
    "cat": (0.45, 0.18, 0.2, 0.08, 0.1),
    "horse": (0.8, 0.3, 0.5, 0.35, 0.14),
    "deer": (0.65, 0.24, 0.5, 0.3, 0.11),
    "fox": (0.55, 0.18, 0.22, 0.12, 0.11),
    "wolf": (0.62, 0.24, 0.32, 0.15, 0.13),
    "lion": (0.75, 0.3, 0.34, 0.12, 0.2),
    "elephant": (1.0, 0.55, 0.42, 0.05, 0.3),
    "bear": (0.8, 0.4, 0.3, 0.08, 0.17),
    "cow": (0.85, 0.38, 0.35, 0.1, 0.15),
    "sheep": (0.6, 0.32, 0.22, 0.08, 0.11),
    "goat": (0.55, 0.26, 0.3, 0.15, 0.1),
    "giraffe": (0.6, 0.3, 0.7, 0.75, 0.1),
    "camel": (0.8, 0.32, 0.55, 0.35, 0.12),
    "rabbit": (0.3, 0.2, 0.08, 0.05, 0.1),
    "dragon": (1.0, 0.35, 0.35, 0.45, 0.16),
}


def animal(draw, x: int, ground: int, s: float, variant: str, ink) -> None:
    if variant == "tortoise":
        disc(draw, x, ground - s * 0.14, s * 0.4, s * 0.24, ink)
        disc(draw, x + s * 0.46, ground - s * 0.14, s * 0.1, s * 0.07, ink)
        for dx in (-0.3, -0.12, 0.12, 0.3):
            draw.rectangle([x + dx * s - s * 0.04, ground - s * 0.06, x + dx * s + s * 0.04, ground], fill=ink)
        return
    length, height, leg, neck, head = (v * s for v in QUADRUPEDS[variant])
    back, belly = ground - leg - height, ground - leg
    disc(draw, x, (back + belly) / 2, length / 2, height / 2, ink)
    for dx in (-0.38, -0.22, 0.22, 0.38):
        draw.rectangle([x + dx * length - s * 0.03, belly - height * 0.2, x + dx * length + s * 0.03, ground], fill=ink)
    front = x + length * 0.45
    hx, hy = front + neck * 0.5, back - neck * 0.8
    poly(
        draw,
        [
            (front - length * 0.15, back + height * 0.1),
            (front, back + height * 0.6),
            (hx + head * 0.3, hy),
            (hx - head * 0.4, hy - head * 0.2),
        ],
        ink,
    )
    disc(draw, hx + head * 0.3, hy, head, head * 0.7, ink)
    disc(draw, hx + head * 0.9, hy + head * 0.2, head * 0.5, head * 0.4, ink)  # muzzle
    tail = x - length / 2
    if variant in ("fox", "wolf", "dog", "cat", "lion", "horse", "dragon"):
        lift = -0.3 if variant in ("cat", "dragon") else 0.25
        poly(
            draw,
            [
                (tail, back + height * 0.2),
                (tail - s * 0.25, back + height * lift - s * 0.05),
                (tail - s * 0.28, back + height * lift + s * 0.03),
                (tail, back + height * 0.5),
            ],
            ink,
        )
    if variant in ("fox", "wolf", "cat", "dog", "rabbit", "deer", "goat", "cow"):
        tall = 2.2 if variant == "rabbit" else 0.9
        poly(
            draw,
            [(hx, hy - head * 0.4), (hx + head * 0.2, hy - head * (0.4 + tall)), (hx + head * 0.5, hy - head * 0.4)],
            ink,
        )
    if variant == "lion":
        disc(draw, hx + head * 0.1, hy, head * 1.5, head * 1.4, ink)
    if variant == "elephant":
        poly(
            draw,
            [
                (hx + head * 0.9, hy),
                (hx + head * 1.3, hy),
                (hx + head * 1.4, ground - s * 0.05),
                (hx + head * 1.1, ground - s * 0.05),
            ],
            ink,
        )
        disc(draw, hx - head * 0.2, hy + head * 0.1, head * 0.7, head * 0.9, ink)
    if variant == "deer":
        for side in (-1, 1):
            draw.line(
                [(hx, hy - head * 0.5), (hx + side * head, hy - head * 2.2), (hx + side * head * 1.6, hy - head * 2.6)],
                fill=ink,
                width=max(2, int(s * 0.02)),
            )
    if variant == "camel":
        disc(draw, x, back, length * 0.22, height * 0.6, ink)
    if variant == "dragon":
        poly(
            draw,
            [
                (x - length * 0.1, back),
                (x - length * 0.5, back - s * 0.7),
                (x + length * 0.1, back - s * 0.35),
                (x + length * 0.3, back),
            ],
            ink,
        )


def bird(draw, x: int, ground: int, s: float, variant: str, ink, rng, h: int) -> None:
    if variant in ("owl", "penguin"):
        body = s * (0.5 if variant == "penguin" else 0.35)
        disc(draw, x, ground - body / 2, body * 0.3, body / 2, ink)
        disc(draw, x, ground - body * 0.95, body * 0.22, body * 0.2, ink)
        if variant == "owl":
            for side in (-1, 1):
                disc(draw, x + side * body * 0.09, ground - body * 0.95, body * 0.06, body * 0.06, (230, 200, 80))
        else:
            disc(draw, x, ground - body * 0.45, body * 0.18, body * 0.38, (235, 235, 230))
        return
    for _ in range(5):  # a small flock, wings in a shallow M
        bx, by, span = x + rng.uniform(-0.25, 0.25) * h, h * rng.uniform(0.12, 0.35), s * rng.uniform(0.15, 0.3)
        flap = rng.uniform(0.15, 0.4)
        poly(
            draw,
            [
                (bx - span, by - span * flap),
                (bx - span * 0.4, by - span * 0.1),
                (bx, by + span * 0.08),
                (bx + span * 0.4, by - span * 0.1),
                (bx + span, by - span * flap),
                (bx + span * 0.35, by + span * 0.05),
                (bx, by + span * 0.2),
                (bx - span * 0.35, by + span * 0.05),
            ],
            ink,
        )


def sea(draw, x: int, water: int, s: float, variant: str, ink) -> None:
    if variant == "whale":
        draw.chord([x - s * 1.2, water - s * 0.35, x + s * 1.2, water + s * 0.35], 180, 360, fill=(92, 104, 124))
        poly(
            draw,
            [
                (x - s * 1.5, water - s * 0.55),
                (x - s * 1.3, water - s * 0.2),
                (x - s * 1.05, water - s * 0.55),
                (x - s * 1.25, water),
            ],
            (92, 104, 124),
        )
        for k in range(9):  # the spout
            a = math.radians(60 + k * 7.5)
            draw.line(
                [
                    (x + s * 0.7, water - s * 0.34),
                    (x + s * 0.7 + math.cos(a) * s * 0.4, water - s * 0.34 - math.sin(a) * s * 0.5),
                ],
                fill=(225, 235, 245),
                width=max(2, int(s * 0.02)),
            )
    elif variant == "shark":
        poly(draw, [(x - s * 0.15, water), (x + s * 0.05, water - s * 0.35), (x + s * 0.2, water)], ink)
    else:  # a dolphin or a fish leaping out of the water
        size = s * (0.8 if variant == "dolphin" else 0.4)
        draw.arc(
            [x - size, water - size * 0.9, x + size, water + size * 0.9],
            200,
            340,
            fill=ink,
            width=max(3, int(size * 0.25)),
        )
        poly(
            draw,
            [
                (x + size * 0.9, water - size * 0.2),
                (x + size * 1.2, water - size * 0.5),
                (x + size * 1.15, water + size * 0.05),
            ],
            ink,
        )
