"""One run of a movie at a time: a second regenerate waits and then reuses, a delete refuses."""

from __future__ import annotations

import threading
import time

import pytest

from movie_assets.errors import RunInProgress
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin

from ..helpers import CountingProduce, quick


class SlowProduce(CountingProduce):
    def __init__(self, started: threading.Event) -> None:
        super().__init__()
        self.started = started

    def __call__(self, request):
        self.started.set()
        time.sleep(0.05)
        return super().__call__(request)


@pytest.mark.parametrize("driver", ["local", "memory"])
def test_a_second_regenerate_waits_for_the_first_and_pays_for_nothing_again(driver, request):
    import uuid

    from movie_assets.store.config import StorageConfig
    from movie_assets.store.storage import StorageContext

    if driver == "local":
        storage = request.getfixturevalue("local_storage")
    else:
        storage = StorageContext(StorageConfig.from_url(f"memory://lease-{uuid.uuid4().hex}"))
    MovieStore(storage, "film").init(
        load_builtin("audio-only"), quick(load_builtin("audio-only"), {"Title": "Once", "NumOfSegments": 2})
    )
    started = threading.Event()
    first_produce, second_produce = SlowProduce(started), CountingProduce()
    outcomes = {}
    first = threading.Thread(target=lambda: outcomes.update(a=MovieStore(storage, "film").regenerate(first_produce)))
    first.start()
    assert started.wait(10)
    outcomes["b"] = MovieStore(storage, "film").regenerate(second_produce)  # waits for the lease
    first.join(30)
    assert outcomes["a"].committed and not outcomes["b"].committed, "the second found nothing left to do"
    assert not second_produce.calls, "no job ran twice"


def test_delete_refuses_while_a_regenerate_runs_and_removes_nothing(local_storage):
    store = MovieStore(local_storage, "film")
    store.init(load_builtin("audio-only"), quick(load_builtin("audio-only"), {"Title": "Busy", "NumOfSegments": 2}))
    started = threading.Event()
    run = threading.Thread(target=lambda: MovieStore(local_storage, "film").regenerate(SlowProduce(started)))
    run.start()
    assert started.wait(10)
    with pytest.raises(RunInProgress):
        MovieStore(local_storage, "film").delete()
    run.join(30)
    assert store.current()[0].revision == "rev-0001", "the run committed; the movie is whole"
    store.delete()
    assert not local_storage.movie("film").exists("blueprint.yaml")
