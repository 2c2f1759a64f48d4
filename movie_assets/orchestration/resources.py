"""Dagster resources: where the store lives and which event log backend it uses."""

from typing import Literal

import dagster as dg

from movie_assets.movie import MovieStore
from movie_assets.settings import event_log
from movie_assets.store.config import StorageConfig
from movie_assets.store.events import EventLog
from movie_assets.store.storage import StorageContext


class StorageResource(dg.ConfigurableResource):
    """The storage root: a path, `file://`, `memory://` or `s3://bucket/prefix` URL, with driver options."""

    url: str = "builds"
    options: dict[str, str] = {}

    def context(self) -> StorageContext:
        return StorageContext(StorageConfig.from_url(self.url, **self.options))


class EventLogResource(dg.ConfigurableResource):
    """Which event log backs the movies: JSONL files in the store (`file`) or Redis streams (`redis`)."""

    backend: Literal["file", "redis"] = "file"
    redis_url: str | None = None
    redis_prefix: str = "movie_assets"
    redis_durability: str = "aof"

    def for_movie(self, storage: StorageContext, movie_id: str) -> EventLog:
        fs = storage.movie(movie_id)
        return event_log(fs, self.backend, self.redis_url, self.redis_prefix, self.redis_durability)


def movie_store(storage: StorageResource, events: EventLogResource, movie_id: str) -> MovieStore:
    context = storage.context()
    return MovieStore(context, movie_id, events.for_movie(context, movie_id))
