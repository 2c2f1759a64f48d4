"""Dagster face of movie_assets: blueprints are code (one asset per producer), movies are partitions."""

from movie_assets.orchestration.definitions import build_definitions
from movie_assets.orchestration.resources import EventLogResource, StorageResource

__all__ = ["EventLogResource", "StorageResource", "build_definitions"]
