from __future__ import annotations

import uuid

import pytest

from movie_assets.core.storage import StorageConfig, StorageContext


@pytest.fixture(params=["local", "memory"])
def storage(request, tmp_path) -> StorageContext:
    """A fresh storage root on each driver that exists without external servers."""
    if request.param == "local":
        return StorageContext(StorageConfig(driver="local", root=str(tmp_path / "builds")))
    return StorageContext(StorageConfig.from_url(f"memory://test-{uuid.uuid4().hex}"))


@pytest.fixture
def local_storage(tmp_path) -> StorageContext:
    return StorageContext(StorageConfig(driver="local", root=str(tmp_path / "builds")))
