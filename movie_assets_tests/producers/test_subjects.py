"""Offline pictures follow the story: the subjects a prompt names are drawn, deterministically."""

from __future__ import annotations

import numpy as np
import pytest

from movie_assets.producers import scenes, subjects
from movie_assets.producers.media import seed_of


def _paint(prompt: str) -> np.ndarray:
    return np.asarray(scenes.paint(160, 90, seed_of("same sky"), prompt), dtype=np.int16)


def test_the_vocabulary_covers_at_least_forty_subjects_of_every_family():
    kinds = {(family, variant) for family, variant in subjects.VOCABULARY.values()}
    assert len(kinds) >= 40
    assert {family for family, _ in kinds} >= {
        "animal",
        "bird",
        "sea",
        "person",
        "vehicle",
        "sky",
        "building",
        "weather",
    }


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("A lighthouse keeper befriends a whale", ["keeper", "whale"]),
        ("Darwin, the finches and the giant tortoises", ["darwin", "finch", "tortoise"]),
        ("Two wolves and some children under the snow", ["wolf", "child", "snow"]),
        ("Buses, trains and churches of an old town", ["bus", "train", "church"]),
    ],
)
def test_the_subjects_a_prompt_names_are_found_in_order_plurals_included(prompt, expected):
    assert [word for word, _, _ in subjects.named(prompt)] == expected


def test_each_named_subject_changes_the_picture_and_the_same_prompt_paints_the_same_picture():
    empty = _paint("a quiet valley")
    for word in ("whale", "elephant", "castle", "bus", "balloon", "rain", "robot", "owl"):
        drawn = _paint(f"a quiet valley with a {word}")
        changed = float(np.mean(np.abs(drawn - empty).sum(axis=2) > 30))
        assert changed > 0.002, f"{word} is not in the picture ({changed:.4f} of the pixels changed)"
    assert np.array_equal(_paint("a whale at dusk"), _paint("a whale at dusk"))


def test_a_prompt_that_names_no_subject_gets_the_traveller_and_birds():
    assert subjects.named("a quiet valley at dawn") == []
    fallback = _paint("a quiet valley")
    traveller = _paint("a quiet valley with a traveller and a bird")
    assert np.array_equal(fallback, traveller)
