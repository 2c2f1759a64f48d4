"""The offline storyteller writes coherent prose: noun phrases from the prompt, one setting, no repeats."""

from __future__ import annotations

import re

import pytest

from movie_assets.producers.story import NAMES, write_story
from movie_assets.producers.story_beats import PLACES

PROMPTS = [
    "A lighthouse keeper befriends a whale",
    "Tell me about Darwin and Galapagos islands",
    "Explain how the Roman aqueducts carried water to the city",
    "The history of the printing press",
    "What are black holes?",
    "Introducing Brewly, the quiet coffee grinder for small kitchens",
    "A launch film for our new bicycle lock app",
    "A bedtime story for children about a sleepy owl and a fox in the forest",
    "A robot learns to paint in Paris",
    "A knight and a dragon who would rather not fight",
    "Two sisters run a bakery in a mountain village",
    "A detective searches the harbour for a missing sailor",
    "An astronaut alone on Mars finds a garden",
    "A girl and her dog cross the desert to reach the sea",
    "Kids' tale: a rabbit who is afraid of the dark",
    "A documentary about honeybees and the farmers who keep them",
    "An old fisherman teaches his grandson to read the weather",
    "A commercial for a reusable water bottle",
    "A ghost story in an abandoned train station",
    "A love letter to rainy cities at night",
]


def _plain(text: str) -> str:
    return re.sub(r"[^a-z ]", "", text.lower()).strip()


@pytest.mark.parametrize("prompt", PROMPTS)
def test_a_prompt_becomes_a_titled_story_with_distinct_lines_that_never_paste_the_prompt(prompt):
    story = write_story(prompt, 12)
    assert story.title and story.summary and len(story.lines) == 12
    assert len(set(story.lines)) == 12, "a beat was repeated"
    for line in [story.title, story.summary, *story.lines]:
        assert _plain(prompt) not in _plain(line), f"the prompt was pasted into {line!r}"
    others = [place for place in PLACES if place != story.setting]
    assert not any(place in line for line in story.lines for place in others), "the story changed its setting"
    assert write_story(prompt, 12) == story  # deterministic


def test_a_documentary_prompt_gives_an_explainer_with_its_proper_names_not_a_fairy_tale():
    story = write_story("Tell me about Darwin and Galapagos islands", 4)
    assert story.mode == "explainer"
    assert story.title == "Understanding Darwin and the Galapagos Islands"
    text = " ".join(story.lines)
    assert "Darwin" in text and not any(name in text for name in NAMES)


def test_characters_from_the_prompt_carry_the_story():
    story = write_story("A lighthouse keeper befriends a whale", 6)
    assert story.title == "The Lighthouse Keeper and the Whale"
    assert "the lighthouse keeper" in story.lines[0]
    assert any("the whale" in line for line in story.lines[1:])


def test_two_hundred_segments_are_two_hundred_different_lines():
    story = write_story("A knight and a dragon", 200)
    assert len(set(story.lines)) == 200


def test_a_longer_duration_gives_longer_lines():
    short, long = write_story("A fox in the snow", 4, seconds=4), write_story("A fox in the snow", 4, seconds=20)
    assert sum(len(x.split()) for x in long.lines) > 1.5 * sum(len(x.split()) for x in short.lines)
