"""The subjects a prompt names, drawn into an offline scene: animals, people, vehicles, buildings and
weather, as silhouettes and simple shapes lit by the scene's sky.

A prompt's words are matched against `VOCABULARY` (plurals too); the first three distinct subjects are
drawn, buildings behind, creatures in front, weather over everything. A prompt that names none gets
the fallback: a lone traveller on the ridge and a few birds, so every shot still has a subject.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from movie_assets.producers import creatures, structures

# word -> (family, variant); the family decides where a subject stands (ground, sky, sea, over all)
VOCABULARY: dict[str, tuple[str, str]] = {
    **{
        w: ("animal", w)
        for w in "dog cat horse deer fox wolf lion elephant bear cow sheep goat giraffe camel rabbit dragon".split()
    },
    **{w: ("animal", "tortoise") for w in ("tortoise", "turtle", "iguana")},
    **{w: ("bird", "flying") for w in ("bird", "eagle", "seagull", "gull", "crow", "dove", "finch", "hawk")},
    **{w: ("bird", w) for w in ("owl", "penguin")},
    **{w: ("sea", w) for w in ("whale", "dolphin", "fish", "shark")},
    **{w: ("person", "adult") for w in "person man woman keeper traveller traveler stranger friend farmer".split()},
    **{w: ("person", "child") for w in ("child", "boy", "girl", "kid")},
    **{w: ("person", "crown") for w in ("king", "queen", "prince", "princess")},
    **{w: ("person", "hat") for w in "explorer scientist naturalist detective darwin captain sailor fisherman".split()},
    **{w: ("person", "knight") for w in ("knight", "soldier", "warrior")},
    **{w: ("person", "robot") for w in ("robot", "android")},
    **{w: ("vehicle", w) for w in "car bus truck train ship boat sailboat bicycle".split()},
    **{w: ("sky", w) for w in ("airplane", "plane", "rocket", "balloon")},
    **{
        w: ("building", w) for w in "house cottage castle church tower windmill barn pyramid temple tent bridge".split()
    },
    **{w: ("weather", w) for w in ("rain", "snow", "storm", "lightning", "fog", "mist", "rainbow", "cloud")},
}
PLURALS = {"people": "person", "children": "child", "men": "man", "women": "woman", "wolves": "wolf", "geese": "bird"}
WATER_WORDS = ("whale", "dolphin", "fish", "shark", "ship", "boat", "sailboat", "sailor", "fisherman", "penguin")
LAYER = {"building": 0, "sea": 1, "vehicle": 2, "animal": 3, "person": 3, "bird": 4, "sky": 4, "weather": 5}


def named(text: str, limit: int = 3) -> list[tuple[str, str, str]]:
    """The distinct subjects `text` names, in the order it names them: (word, family, variant); at most
    `limit` besides the weather, which is all kept."""
    found: list[tuple[str, str, str]] = []
    for word in re.findall(r"[a-z]+", text.lower()):
        word = PLURALS.get(word, word)
        for stem in (word, word[:-1] if word.endswith("s") else "", word[:-2] if word.endswith("es") else ""):
            if stem in VOCABULARY and all(stem != f[0] and VOCABULARY[stem][1] != f[2] for f in found):
                found.append((stem, *VOCABULARY[stem]))
                break
    things = [f for f in found if f[1] != "weather"][:limit]
    return things + [f for f in found if f[1] == "weather"]


def draw_subjects(image: Image.Image, text: str, horizon: float, night: bool, rng: np.random.Generator) -> Image.Image:
    """`image` with the subjects of `text` drawn in (or the fallback traveller and birds)."""
    subjects = named(text)
    if not any(family != "weather" for _, family, _ in subjects):
        subjects += [("traveller", "person", "adult"), ("bird", "bird", "flying")]
    w, h = image.size
    ink = (50, 52, 72) if night else (34, 30, 36)  # moonlit at night, so a figure shows against dark ground
    slots = iter((0.5, 0.3, 0.7))
    weather = []
    for _word, family, variant in sorted(subjects, key=lambda s: LAYER[s[1]]):
        if family == "weather":
            weather.append(variant)
            continue
        draw = ImageDraw.Draw(image)
        x = int(w * (next(slots, 0.5) + rng.uniform(-0.03, 0.03)))
        ground = int(h * 0.86)
        size = h * 0.2
        if family == "building":
            structures.building(draw, x, int(horizon + h * 0.04), h * 0.34, variant, night)
        elif family == "sea":
            creatures.sea(draw, x, int(horizon + (h - horizon) * 0.35), size, variant, ink)
        elif family == "vehicle":
            structures.vehicle(draw, x, ground, size, variant, night, ink, int(horizon))
        elif family == "animal":
            creatures.animal(draw, x, ground, size, variant, ink)
        elif family == "person":
            creatures.person(draw, x, ground, size * (0.7 if variant == "child" else 1.05), variant, ink, night)
        elif family == "bird":
            creatures.bird(draw, x, ground, size, variant, ink, rng, h)
        else:
            structures.sky(draw, x, int(h * 0.25), size, variant, night, ink)
    for variant in weather:
        image = _weather(image, variant, night, rng)
    return image


def _weather(image: Image.Image, variant: str, night: bool, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if variant in ("rain", "storm", "lightning"):
        for _ in range(600):
            x, y, n = rng.uniform(-w * 0.1, w), rng.uniform(0, h), rng.uniform(0.02, 0.05) * h
            draw.line([(x, y), (x + n * 0.25, y + n)], fill=(200, 210, 225, 110), width=1)
        if variant != "rain":
            x, y, points = rng.uniform(0.2, 0.8) * w, 0.0, []
            while y < h * 0.55:
                points.append((x, y))
                x, y = x + rng.uniform(-0.04, 0.04) * w, y + rng.uniform(0.04, 0.09) * h
            draw.line(points, fill=(250, 250, 255, 255), width=max(2, w // 400))
        image = Image.alpha_composite(image.convert("RGBA").point(lambda v: int(v * 0.7)), layer)
    elif variant == "snow":
        for _ in range(900):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1, 3.5) * h / 700
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(250, 250, 255, 220))
        image = Image.alpha_composite(image.convert("RGBA"), layer)
    elif variant in ("fog", "mist"):
        haze = Image.new("RGBA", (w, h), (200, 205, 210, 0))
        ramp = np.clip(np.linspace(-0.2, 1.0, h), 0, 1)[:, None] * (150 if not night else 90)
        haze.putalpha(Image.fromarray(np.repeat(ramp, w, axis=1).astype(np.uint8), "L"))
        image = Image.alpha_composite(image.convert("RGBA"), haze)
    elif variant == "rainbow":
        colors = [(230, 60, 60), (240, 150, 50), (240, 220, 70), (80, 190, 90), (70, 120, 220), (130, 80, 200)]
        for k, color in enumerate(colors):
            r = h * (0.75 - k * 0.025)
            draw.arc(
                [w * 0.5 - r, h * 0.75 - r, w * 0.5 + r, h * 0.75 + r],
                180,
                360,
                fill=(*color, 110),
                width=max(3, h // 80),
            )
        image = Image.alpha_composite(image.convert("RGBA"), layer.filter(ImageFilter.GaussianBlur(h / 300)))
    else:  # clouds
        for _ in range(5):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0.05, 0.3) * h, rng.uniform(0.05, 0.1) * h
            for k in range(5):
                draw.ellipse(
                    [
                        cx + (k - 2) * r * 0.7 - r,
                        cy - r * (1 - abs(k - 2) * 0.2),
                        cx + (k - 2) * r * 0.7 + r,
                        cy + r * 0.6,
                    ],
                    fill=(245, 245, 250, 200) if not night else (80, 80, 100, 200),
                )
        image = Image.alpha_composite(image.convert("RGBA"), layer.filter(ImageFilter.GaussianBlur(h / 200)))
    return image.convert("RGB")
