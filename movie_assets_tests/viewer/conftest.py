from __future__ import annotations

import shutil

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


@pytest.fixture(scope="session")
def built_once(tmp_path_factory) -> str:
    """A video-audio-music movie with one committed revision (480p at 12 fps: the viewer's tests are
    about pages, not pictures), built once; each test gets its own copy of the folder."""
    root = str(tmp_path_factory.mktemp("viewer-template") / "builds")
    store = Settings.load(root=root, offline=True).movie_store(MOVIE)
    store.init(
        load_builtin("video-audio-music"),
        {
            "Title": "The Lighthouse Keeper",
            "Topic": "a keeper of lost signals",
            "NumOfSegments": 3,
            "SegmentText": TEXTS,
            "Resolution": "480p",
            "Fps": 12,
        },
    )
    assert store.regenerate(default_registry()).committed
    return root


@pytest.fixture
def built(settings, built_once) -> MovieStore:
    """A copy of the built movie under this test's own root."""
    shutil.copytree(built_once, settings.root, symlinks=True)
    return settings.movie_store(MOVIE)
