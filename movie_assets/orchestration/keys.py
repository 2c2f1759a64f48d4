"""Asset keys, groups and run tags shared by the Dagster modules."""

from __future__ import annotations

import re

import dagster as dg

RESERVED = {"manifest", "inputs"}
REVISION_TAG = "movie_assets/revision"
BASE_HASH_TAG = "movie_assets/base_hash"
MOVIE_TAG = "movie_assets/movie"
DIRTY_TAG = "movie_assets/why_dirty"
NO_BASE = "none"


def group_name(movie_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", movie_id)


def job_key(movie_id: str, path: list[str]) -> dg.AssetKey:
    return dg.AssetKey([movie_id, *path])


def input_key(movie_id: str, key: str) -> dg.AssetKey:
    """`SegmentText[1]` becomes `[movie, inputs, SegmentText_1]` (Dagster op names allow no brackets)."""
    return dg.AssetKey([movie_id, "inputs", key.replace("[", "_").replace("]", "")])


def manifest_key(movie_id: str) -> dg.AssetKey:
    return dg.AssetKey([movie_id, "manifest"])


def job_id_of(key: dg.AssetKey) -> tuple[str, str]:
    """(movie id, job id) of a producer asset key."""
    movie_id, *path = key.path
    return movie_id, "/".join(path)


def regenerate_job_name(movie_id: str) -> str:
    return f"regenerate_{group_name(movie_id)}"
