from __future__ import annotations

import os
import tempfile
import uuid

import pytest

from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext

from .servers import MotoS3, RedisServer

# copies of remote blobs go to a folder of this run, never to the user's cache
os.environ.setdefault("MOVIE_ASSETS_BLOB_CACHE", tempfile.mkdtemp(prefix="movie-assets-blob-cache-"))


@pytest.fixture(autouse=True)
def quick_films(request, monkeypatch):
    """Movies made in a test are quick films (480p, 12 fps, hard cuts, narration in tones), unless the
    test is about the film itself (`@pytest.mark.film`): most tests are about the store, the planner or a
    face, and a 720p film per test would be most of the suite's time."""
    if request.node.get_closest_marker("film"):
        return
    from movie_assets.movie import MovieStore

    from .helpers import quick

    real = MovieStore.init
    # narration in tones too, where the blueprint narrates offline and Dagster does not compare the movie's
    # model picks with the deployed code
    dagster = "orchestration" in str(request.node.fspath)

    def init(self, blueprint, inputs, edited_by="init"):
        narration = blueprint.producers.get("narration")
        offline = narration is not None and narration.model_choice == "offline"
        extra = {"narration.model": "tones"} if offline and not dagster else {}
        return real(self, blueprint, quick(blueprint, {**extra, **dict(inputs)}), edited_by)

    monkeypatch.setattr(MovieStore, "init", init)


@pytest.fixture(scope="session")
def moto_s3():
    server = MotoS3()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(params=["local", "memory", "s3"])
def storage(request, tmp_path) -> StorageContext:
    """A fresh storage root on every driver (s3 = moto's server over real HTTP on loopback)."""
    if request.param == "local":
        return StorageContext(StorageConfig(driver="local", root=str(tmp_path / "builds")))
    if request.param == "memory":
        return StorageContext(StorageConfig.from_url(f"memory://test-{uuid.uuid4().hex}"))
    return request.getfixturevalue("moto_s3").storage()


@pytest.fixture
def local_storage(tmp_path) -> StorageContext:
    return StorageContext(StorageConfig(driver="local", root=str(tmp_path / "builds")))
