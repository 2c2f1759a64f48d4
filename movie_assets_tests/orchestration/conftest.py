"""A root with one video-audio-music movie of three segments, a throwaway Dagster instance, resources."""

import dagster as dg
import pytest

from movie_assets.movie import MovieStore
from movie_assets.orchestration import EventLogResource, StorageResource
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext
from movie_assets_tests.helpers import quick

from .partitions import MOVIE


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "builds")


@pytest.fixture
def storage(root):
    return StorageContext(StorageConfig(root=root))


@pytest.fixture
def store(storage):
    store = MovieStore(storage, MOVIE)
    store.init(
        load_builtin("video-audio-music"),
        quick(load_builtin("video-audio-music"), {"Title": "Dagster film", "NumOfSegments": 3}),
    )
    return store


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def resources(root):
    return {"storage": StorageResource(url=root), "events": EventLogResource()}
