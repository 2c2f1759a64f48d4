"""Dagster resources: a view of the one Settings object (where the store lives, which event log it uses)."""

from __future__ import annotations

from typing import Literal

import dagster as dg

from movie_assets.movie import MovieStore
from movie_assets.settings import Settings
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext


class StorageResource(dg.ConfigurableResource):
    """The storage root: a path, `file://`, `memory://` or `s3://bucket/prefix` URL, with driver options."""

    url: str = "builds"
    options: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> StorageResource:
        return cls(url=settings.root, options={k: str(v) for k, v in settings.storage_options.items()})

    def context(self) -> StorageContext:
        return StorageContext(StorageConfig.from_url(self.url, **self.options))


class EventLogResource(dg.ConfigurableResource):
    """Which event log backs the movies: JSONL files in the store (`file`) or Redis streams (`redis`)."""

    backend: Literal["file", "redis"] = "file"
    redis_url: str | None = None
    redis_prefix: str = "movie_assets"
    redis_durability: str = "aof"

    @classmethod
    def from_settings(cls, settings: Settings) -> EventLogResource:
        return cls(
            backend=settings.event_log,
            redis_url=settings.redis_url,
            redis_prefix=settings.redis_prefix,
            redis_durability=settings.redis_durability,
        )


def settings_of(storage: StorageResource, events: EventLogResource) -> Settings:
    """The Settings these resources stand for."""
    return Settings(
        root=storage.url,
        storage_options=storage.options,
        event_log=events.backend,
        redis_url=events.redis_url,
        redis_prefix=events.redis_prefix,
        redis_durability=events.redis_durability,
    )


def movie_store(
    storage: StorageResource, events: EventLogResource, movie_id: str, context: StorageContext | None = None
) -> MovieStore:
    """A MovieStore through the one factory (Settings.movie_store)."""
    return settings_of(storage, events).movie_store(movie_id, context or storage.context())
