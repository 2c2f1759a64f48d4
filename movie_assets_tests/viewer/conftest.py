from __future__ import annotations

import pytest

from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets.settings import Settings

MOVIE = "lighthouse"
TEXTS = [
    "Every night the keeper climbs the stairs and listens to the sea.",
    "One storm brings a voice that nobody else can hear.",
    "At dawn she answers, and the lighthouse answers with her.",
]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.load(root=str(tmp_path / "builds"), offline=True)


@pytest.fixture
def built(settings) -> MovieStore:
    """A video-audio-music movie with one committed revision."""
    store = settings.movie_store(MOVIE)
    store.init(
        load_builtin("video-audio-music"),
        {
            "Title": "The Lighthouse Keeper",
            "Topic": "a keeper of lost signals",
            "NumOfSegments": 3,
            "SegmentText": TEXTS,
        },
    )
    assert store.regenerate(default_registry()).committed
    return store
