from __future__ import annotations

import uuid

import pytest

from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext

from .servers import MotoS3, RedisServer


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
