"""Shared set-up of the lifecycle tests: a small committed movie and a clock in the future."""

from __future__ import annotations

import time

from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.store.storage import StorageContext

from ..helpers import CountingProduce

HOUR = 3600.0


def small_movie(storage: StorageContext, movie: str = "film", segments: int = 2) -> MovieStore:
    store = MovieStore(storage, movie)
    store.init(load_builtin("audio-only"), {"Title": "Lifecycle", "NumOfSegments": segments})
    assert store.regenerate(CountingProduce()).committed
    return store


def later(seconds: float):
    return lambda: time.time() + seconds
