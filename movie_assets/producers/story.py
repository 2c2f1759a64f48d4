"""An offline storyteller: one prompt becomes a titled story told across N segments.

Deterministic (the same prompt, length and take give the same story) and coherent: one protagonist,
one place and one object run through every segment, and the segments follow a classic arc (setup,
inciting incident, rising action, turn, climax, resolution) stretched or squeezed to their number.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

NAMES = ["Mara", "Ilya", "Noor", "Tomas", "Aiko", "Rafael", "Lena", "Oskar", "Selin", "Jonah", "Priya", "Emeric"]
PLACES = [
    "a harbour town at the edge of the fog",
    "a quiet mountain village",
    "a city of bridges and late trains",
    "an island where the lighthouse still turns",
    "a desert station under wide skies",
    "a forest road that no map agrees on",
]
OBJECTS = ["a brass compass", "a faded letter", "an old radio", "a red kite", "a cracked lantern", "a paper map"]
BEATS = [
    ("setup", "In {place}, {name} lives a quiet life, until whispers begin about {subject}."),
    ("incident", "One evening {object} turns up where it should not be, and it points straight at {subject}."),
    ("rising", "{name} follows where it leads, each step asking more courage than the last."),
    ("turn", "Halfway there, {name} learns that {subject} was never what it seemed."),
    ("climax", "At the decisive moment {name} must choose, {object} in hand and no time left."),
    ("resolution", "When the dust settles, {place} looks different, and so does {name}."),
]
STOP = set("a an the of and or to in on at for with about from into over under who that this is are was be".split())


@dataclass(frozen=True)
class Story:
    title: str
    summary: str
    lines: list[str]


def _pick(seed: bytes, salt: str, options: list) -> object:
    digest = hashlib.sha256(seed + salt.encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _subject(prompt: str) -> str:
    """The prompt as a noun phrase the sentences can carry ('a lighthouse keeper's lost signal')."""
    text = re.sub(r"\s+", " ", prompt).strip().rstrip(".!?")
    text = re.sub(r"^(a |an )?(short )?(film|movie|story) (about|of) ", "", text, flags=re.IGNORECASE)
    if re.match(r"^(A|An|The) ", text):
        text = text[0].lower() + text[1:]
    return text[:90] or "the thing everyone has been waiting for"


def _title(prompt: str, thing: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z']+", prompt) if w.lower() not in STOP]
    key = " ".join(words[:2]).title() if words else "Quiet Hours"
    return f"{key} and {thing.split(' ', 1)[1].title()}"


def beats_for(count: int) -> list[tuple[str, str]]:
    """The arc spread over `count` segments: the first is always setup, the last resolution."""
    if count <= 1:
        return [BEATS[1]]
    positions = [round(i * (len(BEATS) - 1) / (count - 1)) for i in range(count)]
    return [BEATS[p] for p in positions]


def write_story(prompt: str, segments: int, audience: str = "", take: int = 0) -> Story:
    """A title, a one-paragraph summary and one narration line per segment."""
    seed = f"{prompt}|{take}".encode()
    name, place, thing = _pick(seed, "name", NAMES), _pick(seed, "place", PLACES), _pick(seed, "object", OBJECTS)
    subject = _subject(prompt)
    words = {"name": name, "place": place, "object": thing, "subject": subject}
    lines = []
    for _, template in beats_for(max(segments, 0)):
        line = template.format(**words)
        lines.append(line[0].upper() + line[1:])
    for_whom = f" A film for {audience}." if audience else ""
    summary = f"{name} lives in {place}. When {thing} leads to {subject}, everything has to change.{for_whom}"
    return Story(_title(prompt, thing), summary, lines[:segments])
