"""An offline storyteller: one prompt becomes a titled story, explainer or pitch told across N segments.

Deterministic (the same prompt, length and take give the same words) and coherent: the prompt is read
for its people, creatures, places and proper names (noun phrases; the sentence itself is never
pasted), one setting carries the whole story unless the prompt names several, and the segments walk
one arc whose beats are never repeated. "Tell me about …" and "Explain …" prompts get an explainer;
"Introducing …" and product prompts a pitch; everything else a story.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from movie_assets.producers.story_beats import ARCS, DETAILS, PLACES, SHORT_ARCS, SHORT_WORDS, WORDS_PER_SECOND

NAMES = ["Mara", "Ilya", "Noor", "Tomas", "Aiko", "Rafael", "Lena", "Oskar", "Selin", "Jonah", "Priya", "Emeric"]
OBJECTS = ["a brass compass", "a faded letter", "an old radio", "a red kite", "a cracked lantern", "a paper map"]
ROLES = set(
    """keeper girl boy child man woman king queen prince princess knight robot fox wolf whale dog cat horse bird
    sailor fisherman explorer scientist detective captain farmer baker painter musician inventor dragon bear owl
    teacher student doctor pilot astronaut witch wizard giant orphan traveller traveler stranger friend mother
    father grandmother grandfather sister brother tortoise turtle dolphin elephant lion rabbit deer penguin""".split()
)
SETTINGS = set(
    """island islands sea ocean harbour harbor village city town forest mountain mountains desert station lighthouse
    river lake valley castle kingdom garden school moon mars space jungle beach coast north south arctic""".split()
)
LEAD_INS = re.compile(
    r"^(please\s+)?((tell|teach|show|give) me|explain|describe|i want|make|write|create)?\b\s*"
    r"((a|an|the)\b)?\s*((short|little|bedtime|children's|kids'?|launch|promotional)\s+)?"
    r"((film|movie|story|tale|video|documentary|explainer|ad|advert|commercial)\b)?\s*((about|of|on|for)\b)?\s*",
    re.IGNORECASE,
)
STOP = set(
    "a an the of and or to in on at for with about from into over under who that this is are was be his her its their"
    " how what why when where does do did my me i".split()
)
DOCUMENTARY = re.compile(
    r"^(tell me about|teach me|explain|what (is|are|was|were)|how (does|do|did)|why|the history of|documentary|"
    r"describe)|\b(history|documentary|explainer|science of)\b",
    re.IGNORECASE,
)
PITCH = re.compile(r"\b(introducing|product|launch|our new|app|brand|advert|commercial|startup)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Story:
    title: str
    summary: str
    lines: list[str]
    setting: str
    mode: str


def _pick(seed: bytes, salt: str, options: list) -> str:
    digest = hashlib.sha256(seed + salt.encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z][A-Za-z'\-]*", text)


def read_prompt(prompt: str) -> dict[str, list[str]]:
    """The prompt's noun phrases: `characters` (a role with the word before it: "lighthouse keeper"),
    `settings` ("the Galapagos Islands") and `names` (capitalised words after the first)."""
    text = LEAD_INS.sub("", " ".join(prompt.split()), count=1)
    words = _words(text)
    lowered = [re.sub(r"'s$", "", w.lower()) for w in words]
    characters, settings, names, modifiers = [], [], [], set()
    for i, word in enumerate(lowered):
        stem = word[:-1] if word.endswith("s") and word[:-1] in ROLES | SETTINGS else word
        before = lowered[i - 1] if i and lowered[i - 1] not in STOP | ROLES | NUMBERS else ""
        if stem in ROLES:
            characters.append(f"{before} {stem}".strip())
            modifiers.add(i - 1)
        elif stem in SETTINGS and i not in modifiers and not (i + 1 < len(lowered) and lowered[i + 1] in ROLES):
            if before and words[i - 1][0].isupper():  # a proper place: "Galapagos Islands"
                settings.append(f"{words[i - 1]} {words[i].title()}")
            elif i + 1 < len(lowered) and lowered[i + 1] in SETTINGS:  # "mountain village"
                settings.append(f"{word} {lowered[i + 1]}")
                modifiers.add(i + 1)
            else:
                settings.append(words[i] if words[i][0].isupper() else word)
    for i, word in enumerate(words):
        opening = not i and (lowered[i] in NUMBERS or lowered[i].endswith(("ing", "ed")))
        if word[0].isupper() and not opening and lowered[i] not in STOP | ROLES | SETTINGS | NUMBERS:
            if i + 1 < len(words) and lowered[i + 1] in SETTINGS:
                continue  # part of a place name, kept with its place
            if i and lowered[i - 1] in ("in", "at", "near", "across", "through", "from", "to"):
                settings.append(word)  # "in Paris": a place
            else:
                names.append(word)
    unique = lambda items: list(dict.fromkeys(items))  # noqa: E731
    return {"characters": unique(characters), "settings": unique(settings), "names": unique(names)}


BOUNDARY = set(
    "who that which where when whose to in on at for with from into over under by is are was were has have can will"
    " would should could does did do carried carries made makes changed changes works work".split()
)
OPENERS = re.compile(
    r"^((how|what|why|who|when)( (is|are|was|were|does|do|did))?|(the )?(history|story|science) of|introducing)\s+",
    re.I,
)
NUMBERS = set("two three four five six seven eight nine ten some many all".split())


def noun_phrase(prompt: str) -> str:
    """What a prompt is about, as a noun phrase: its first words up to a verb, clause or preposition other
    than "of"/"and" ("how the Roman aqueducts carried water" -> "the Roman aqueducts")."""
    text = LEAD_INS.sub("", " ".join(prompt.split()), count=1)
    text = OPENERS.sub("", text.strip().rstrip("?.!"))
    text = re.sub(r"^(the|a|an|our|my|your)\s+(new\s+)?", "", text, flags=re.I)
    kept: list[str] = []
    for token in re.findall(r"[A-Za-z][A-Za-z'\-]*|,", text):
        low = token.lower()
        if token == "," or low in BOUNDARY or (low.endswith("ed") and len(low) > 4) or len(kept) == 6:
            break
        kept.append(token)
    while kept and kept[-1].lower() in STOP:
        kept.pop()
    return " ".join(kept)


def mode_of(prompt: str) -> str:
    if DOCUMENTARY.search(prompt.strip()):
        return "explainer"
    if PITCH.search(prompt):
        return "pitch"
    return "story"


def _the(phrase: str) -> str:
    """A noun phrase with its article: "the whale", "the Galapagos Islands", "Darwin"."""
    if phrase.startswith("the "):
        return phrase
    if phrase[:1].isupper():
        return f"the {phrase}" if " " in phrase and phrase.endswith("s") else phrase
    return f"the {phrase}"


def _place(found: list[str], seed: bytes, prompt: str) -> str:
    """The story's one setting: the first the prompt names, else a stock place that shares a word with
    the prompt (a lighthouse keeper's island), else one picked by the prompt's hash."""
    if not found:
        said = {w.lower() for w in _words(prompt)} - STOP
        near = [p for p in PLACES if said & set(p.split())]
        return _pick(seed, "place", near or PLACES)
    place = found[0]
    return _the(place)


def _cast(found: dict[str, list[str]], seed: bytes) -> dict[str, str]:
    name = _pick(seed, "name", NAMES)
    people = found["characters"]
    hero_role = people[0] if people else ""
    hero = f"{name}, {_the(hero_role)}," if hero_role else name
    friend = _the(people[1]) if len(people) > 1 else _pick(seed, "friend", ["a stranger", "an old friend", "a child"])
    return {"name": name, "hero": hero, "friend": friend, "object": _pick(seed, "object", OBJECTS)}


def write_story(prompt: str, segments: int, audience: str = "", take: int = 0, seconds: float = 0.0) -> Story:
    """A title, a one-paragraph summary and one narration line per segment (about `seconds` of speech each
    when given), never two lines alike."""
    seed = f"{prompt}|{take}".encode()
    found = read_prompt(prompt)
    mode = mode_of(prompt)
    place = _place(found["settings"], seed, prompt)
    cast = _cast(found, seed)
    topic = _topic(found, place, prompt)
    words = {**cast, "place": place, "topic": topic, "second": _second(found, place, seed)}
    target = max(int(seconds * WORDS_PER_SECOND), 0)
    details = DETAILS[mode]
    arcs = SHORT_ARCS if 0 < target <= SHORT_WORDS else ARCS  # a few seconds a segment: a few words a line
    beats = _arc(arcs[mode], segments, len(details))
    lines = [_line(beat, words, i, target, details) for i, beat in enumerate(beats)]
    for_whom = f" Made for {audience}." if audience else ""
    summaries = {
        "story": f"In {place}, {cast['name']} and {cast['friend']} are drawn together by {cast['object']}.",
        "explainer": f"A short explainer on {topic}: where it began, how it works and why it still matters.",
        "pitch": f"A short film that shows what {topic} does, who it is for and why it makes a day better.",
    }
    return Story(_title(mode, found, cast, place, topic), summaries[mode] + for_whom, lines, place, mode)


def _topic(found: dict[str, list[str]], place: str, prompt: str) -> str:
    names = found["names"] + [s for s in found["settings"] if s[:1].isupper()]
    phrase = noun_phrase(prompt)
    if phrase and len(names) < 2:
        plural = phrase.endswith("s") and not phrase.endswith("ss")
        return phrase if plural or " and " in phrase or phrase[:1].isupper() else _the(phrase)
    if names:
        return _the(names[0]) if len(names) == 1 else f"{_the(names[0])} and {_the(names[1])}"
    if found["characters"]:
        return _the(found["characters"][0])
    return place


def _second(found: dict[str, list[str]], place: str, seed: bytes) -> str:
    others = [n for n in found["names"][1:]] + found["characters"][1:]
    return _the(others[0]) if others else place


def _title(mode: str, found: dict[str, list[str]], cast: dict[str, str], place: str, topic: str) -> str:
    if mode == "explainer":
        return f"Understanding {_titled(topic)}"
    if mode == "pitch":
        return f"Meet {_titled(topic)}"
    people = found["characters"]
    if len(people) > 1:
        return f"The {people[0].title()} and the {people[1].split()[-1].title()}"
    thing = cast["object"].split(" ", 1)[1]
    return f"{cast['name']} and the {thing.title()}"


def _titled(phrase: str) -> str:
    small = {"a", "an", "the", "and", "of", "in", "on", "at", "for", "to"}
    words = phrase.split()
    return " ".join(w if w in small or w[:1].isupper() else w.capitalize() for w in words)


def _arc(arc: tuple[list[str], list[str]], count: int, kinds: int) -> list[str]:
    """`count` distinct beats. Up to six spread the core arc (first and last always kept, so a film grown by
    a segment keeps its opening lines); up to sixteen add the middle beats in order; beyond that the middle
    beats come again, each paired with another detail so no two lines are alike."""
    core, more = arc
    if count <= 0:
        return []
    if count == 1:
        return [core[1]]
    if count <= len(core):
        return [core[round(i * (len(core) - 1) / (count - 1))] for i in range(count)]
    extra = count - len(core)
    if extra <= len(more):
        middle = more[:extra]
    else:
        middle = [f"{more[i % len(more)]}|{(i % len(more) + i // len(more)) % kinds}" for i in range(extra)]
    return [*core[:3], *middle, *core[3:]]


def _sentence(template: str, words: dict[str, str]) -> str:
    text = template.format(**words)
    return text[0].upper() + text[1:]


def _line(template: str, words: dict[str, str], index: int, target: int, details: list[str]) -> str:
    """A beat (with its detail first when the arc repeats it), lengthened by details towards `target` words."""
    beat, _, detail = template.partition("|")
    line = beat.format(**words)
    if detail:
        line = f"{_sentence(details[int(detail)], words)} {line}"
    for step in range(len(details) // 2):
        if not target or len(line.split()) >= target * 0.85:
            break
        line = f"{line} {_sentence(details[(index * 5 + step * 2 + 1) % len(details)], words)}"
    return line[0].upper() + line[1:]
