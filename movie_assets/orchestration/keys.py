"""Names shared by the Dagster modules: asset keys, partitions and run tags.

Blueprints are code and movies are data: a blueprint is an asset group (one asset per producer), a
movie is a partition of that group's `movie` dimension, and a loop producer's jobs are partitions of
movie x loop index. Partition sets are dynamic, so a new movie or a longer loop needs no reload.
"""

from __future__ import annotations

import functools
import re

import dagster as dg

RESERVED = {"manifest", "inputs"}
MOVIE_DIM = "movie"
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


@functools.cache
def loop_partitions(loop: str) -> dg.DynamicPartitionsDefinition:
    """Loop indices `0`, `1`, ... shared by every blueprint; the sensor adds them as loops grow."""
    return dg.DynamicPartitionsDefinition(name=loop)


@functools.cache
def partitions_for(group: str, loop: str | None) -> dg.PartitionsDefinition:
    """Movie partitions for a producer that runs once per movie, movie x loop index for a loop producer."""
    if loop is None:
        return movies_partitions(group)
    return dg.MultiPartitionsDefinition({MOVIE_DIM: movies_partitions(group), loop: loop_partitions(loop)})


def partition_key(movie_id: str, loop: str | None, index: int | None) -> str:
    """The partition of one movie (and loop index): `film`, or `film|2` for movie x segment."""
    if loop is None or index is None:
        return movie_id
    return dg.MultiPartitionKey({MOVIE_DIM: movie_id, loop: str(index)})


def split_partition(key: str | dg.MultiPartitionKey, loop: str | None) -> tuple[str, int | None]:
    """(movie id, loop index or None) of a partition key."""
    if loop is None:
        return str(key), None
    keys = key.keys_by_dimension if isinstance(key, dg.MultiPartitionKey) else _dims(str(key), loop)
    return keys[MOVIE_DIM], int(keys[loop])


def _dims(key: str, loop: str) -> dict[str, str]:
    # a multi-partition key string joins the dimension values in the sorted order of dimension names
    names = sorted([MOVIE_DIM, loop])
    return dict(zip(names, key.split("|"), strict=True))


def tag_value(text: str) -> str:
    """A Dagster tag value: letters, digits, `_ - .` only, at most 63 characters."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:63]
