"""One settings object for every face (CLI, Dagster definitions, viewer, MCP): read from the environment.

| variable | meaning | default |
|---|---|---|
| MOVIE_ASSETS_ROOT | storage root: a path, file://, memory:// or s3://bucket/prefix | builds |
| MOVIE_ASSETS_STORAGE_OPTIONS | JSON object of driver options (endpoint_url, region, key, ...) | {} |
| MOVIE_ASSETS_EVENT_LOG | file (JSONL in the store) or redis (streams) | file |
| MOVIE_ASSETS_REDIS_URL | the Redis server of the redis event log | |
| MOVIE_ASSETS_REDIS_PREFIX | key prefix of the streams | movie_assets |
| MOVIE_ASSETS_REDIS_DURABILITY | aof (server fsyncs every write), replicas:N (WAIT), or none | aof |
| MOVIE_ASSETS_OFFLINE | run jobs of unconfigured providers with the offline producers | false |
| MOVIE_ASSETS_VIEWER_URL | where `movie-assets view` is served, for links from the Dagster UI | |
| MOVIE_ASSETS_IO_THREADS | independent requests sent at once on S3 (inputs, outputs, checks, copies; 1-64) | 8 |
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from movie_assets.errors import InvalidValue
from movie_assets.movie import MovieStore
from movie_assets.store.config import IO_THREADS, StorageConfig
from movie_assets.store.events import EventLog, FileEventLog
from movie_assets.store.storage import MovieFS, StorageContext

if TYPE_CHECKING:
    from movie_assets.pipeline.prices import PriceTable

DEFAULT_ROOT = "builds"
ENV_PREFIX = "MOVIE_ASSETS_"


def event_log(fs: MovieFS, kind: str, redis_url: str | None, prefix: str, durability: str) -> EventLog:
    """A movie's event log: JSONL files in the store (`file`) or Redis streams (`redis`)."""
    if kind == "redis":
        if not redis_url:
            raise InvalidValue("the redis event log needs a Redis URL (MOVIE_ASSETS_REDIS_URL)")
        from movie_assets.store.redis_events import RedisEventLog

        return RedisEventLog(fs, redis_url, prefix, durability)
    return FileEventLog(fs)


class Settings(BaseModel):
    """Where movies live and which event log they use; every face builds its stores from this.

    Read from `MOVIE_ASSETS_<FIELD>` variables (any case) by `load`. A plain model, not pydantic-settings:
    that package adds imports to every command, and it turns a malformed
    MOVIE_ASSETS_STORAGE_OPTIONS into a traceback before our validator could name it."""

    model_config = ConfigDict(extra="forbid")

    root: str = DEFAULT_ROOT
    storage_options: dict[str, Any] = {}
    event_log: Literal["file", "redis"] = "file"
    redis_url: str | None = None
    redis_prefix: str = "movie_assets"
    redis_durability: str = "aof"
    offline: bool = False
    viewer_url: str | None = None
    dagster_executor: Literal["multiprocess", "in_process"] = "multiprocess"
    sensor_interval: int = Field(default=15, ge=1)
    prices: str | None = None  # a YAML price table whose entries override the shipped ones
    confirm_above_usd: float = Field(default=1.0, ge=0)  # regenerate asks before spending more
    blob_cache: str = ""  # a folder for copies of remote (S3) blobs; empty: the user's cache folder; "off"
    blob_cache_bytes: int = Field(default=2 << 30, ge=0)
    io_threads: int = Field(default=IO_THREADS, ge=1, le=64)  # independent requests at once on a remote root

    @field_validator("storage_options", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value or "{}")
            except ValueError:
                raise ValueError("must be a JSON object") from None
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        return value

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from the environment (`environ`, else os.environ) with explicit overrides (e.g. the
        CLI's --root); InvalidValue naming the variable if a value is bad."""
        wanted = {f"{ENV_PREFIX}{name}".lower(): name for name in cls.model_fields}
        values = {
            wanted[k.lower()]: v for k, v in (os.environ if environ is None else environ).items() if k.lower() in wanted
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(f"{_variable(e['loc'])}: {e['msg']}" for e in exc.errors())
            raise InvalidValue(f"bad movie_assets settings: {problems}") from None

    def price_table(self) -> PriceTable:
        """The shipped price table with the user's overrides (MOVIE_ASSETS_PRICES) on top."""
        from movie_assets.pipeline.prices import load_prices

        return load_prices(self.prices)

    def storage_config(self) -> StorageConfig:
        return StorageConfig.from_url(self.root, **self.storage_options)

    def storage(self) -> StorageContext:
        """The storage root, with the local blob cache for a remote one (unless MOVIE_ASSETS_BLOB_CACHE=off)."""
        config = self.storage_config()
        cache = None
        if config.driver == "s3" and self.blob_cache.lower() != "off" and self.blob_cache_bytes > 0:
            from movie_assets.store.blob_cache import BlobCache, default_folder

            cache = BlobCache(self.blob_cache or default_folder(), self.blob_cache_bytes)
        return StorageContext(config, cache, self.io_threads)

    def event_log_for(self, fs: MovieFS) -> EventLog:
        """The configured event log of one movie."""
        return event_log(fs, self.event_log, self.redis_url, self.redis_prefix, self.redis_durability)

    def movie_store(self, movie_id: str, storage: StorageContext | None = None) -> MovieStore:
        """A MovieStore wired to the configured storage and event log."""
        context = storage or self.storage()
        return MovieStore(context, movie_id, self.event_log_for(context.movie(movie_id)))


def _variable(loc: tuple) -> str:
    """The environment variable a validation error is about (`MOVIE_ASSETS_SENSOR_INTERVAL`)."""
    return f"{ENV_PREFIX}{str(loc[0]).upper()}" if loc else "settings"
