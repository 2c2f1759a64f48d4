"""A root with one video-audio-music movie of three segments, a throwaway Dagster instance, resources."""

import shutil

import dagster as dg
import pytest

from movie_assets.movie import MovieStore
from movie_assets.orchestration import EventLogResource, StorageResource
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
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


def _init(storage: StorageContext) -> MovieStore:
    store = MovieStore(storage, MOVIE)
    store.init(
        load_builtin("video-audio-music"),
        quick(load_builtin("video-audio-music"), {"Title": "Dagster film", "NumOfSegments": 3}),
    )
    return store


@pytest.fixture
def store(storage):
    """The movie, made and never built."""
    return _init(storage)


@pytest.fixture(scope="session")
def built_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("built") / "builds")
    assert _init(StorageContext(StorageConfig(root=root))).regenerate(default_registry()).committed
    return root


@pytest.fixture
def built(root, built_root) -> MovieStore:
    """The movie built by the CLI's code path: a copy of one build, which each test changes at will."""
    shutil.copytree(built_root, root)
    return MovieStore(StorageContext(StorageConfig(root=root)), MOVIE)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def resources(root):
    return {"storage": StorageResource(url=root), "events": EventLogResource()}
