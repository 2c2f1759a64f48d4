"""Driver name -> backend class, imported only when used (like fsspec's `known_implementations`)."""

from __future__ import annotations

import importlib

from movie_assets.errors import InvalidValue
from movie_assets.store.base import Backend
from movie_assets.store.config import StorageConfig

__all__ = ["KNOWN_BACKENDS", "StorageConfig", "backend_class"]

# driver name -> (module, class); the s3 driver pulls in botocore, so nothing is imported up front
KNOWN_BACKENDS: dict[str, tuple[str, str]] = {
    "local": ("movie_assets.store.local", "LocalBackend"),
    "memory": ("movie_assets.store.memory", "MemoryBackend"),
    "s3": ("movie_assets.store.s3", "S3Backend"),
}


def backend_class(driver: str) -> type[Backend]:
    """The backend class registered for `driver`, imported on first use."""
    try:
        module, name = KNOWN_BACKENDS[driver]
    except KeyError:
        raise InvalidValue(f"unknown storage driver {driver!r}; known: {sorted(KNOWN_BACKENDS)}") from None
    return getattr(importlib.import_module(module), name)
