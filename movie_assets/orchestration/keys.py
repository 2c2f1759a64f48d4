"""Names shared by the Dagster modules: asset keys, partitions and run tags.

Blueprints are code and movies are data: a blueprint is an asset group (one asset per producer), and
a movie is one partition of that group's `<group>_movies` dynamic partitions, so a new movie needs no
reload. A loop producer's partition holds every segment of the movie: the planner, not a partition
per segment, decides which of them run.
"""

from __future__ import annotations

import functools
import re

import dagster as dg

RESERVED = {"manifest", "inputs"}
REVISION_TAG = "movie_assets/revision"
BASE_HASH_TAG = "movie_assets/base_hash"
MOVIE_TAG = "movie_assets/movie"
DIRTY_TAG = "movie_assets/why_dirty"
NO_BASE = "none"


def producer_key(group: str, producer: str) -> dg.AssetKey:
    return dg.AssetKey([group, producer])


def input_key(group: str, name: str) -> dg.AssetKey:
    return dg.AssetKey([group, "inputs", name])


def manifest_key(group: str) -> dg.AssetKey:
    return dg.AssetKey([group, "manifest"])


@functools.cache
def movies_partitions(group: str) -> dg.DynamicPartitionsDefinition:
    """The movies made from one blueprint (each blueprint lists only its own movies)."""
    return dg.DynamicPartitionsDefinition(name=f"{group}_movies")


def partitions_for(group: str) -> dg.DynamicPartitionsDefinition:
    """The partitions of every asset of a group: its movies."""
    return movies_partitions(group)


def tag_value(text: str) -> str:
    """A Dagster tag value: letters, digits, `_ - .` only, at most 63 characters."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:63]


def regenerate_job_name(group: str) -> str:
    return f"{group}_regenerate"
