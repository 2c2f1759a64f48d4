"""Many committers on one base: exactly one revision per base; losers converge on rerun."""

import pytest

from movie_assets.lifecycle.history import verify
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext
from movie_assets_tests.helpers import quick

from .harness import MOVIE, race


@pytest.mark.parametrize("writers", [2, 6])
def test_racing_committers_one_revision_per_base(tmp_path, writers):
    root = str(tmp_path / "builds")
    storage = StorageContext(StorageConfig.from_url(root))
    store = MovieStore(storage, MOVIE)
    store.init(load_builtin("audio-only"), quick(load_builtin("audio-only"), {"Title": "Race", "NumOfSegments": 2}))
    for round_ in range(3):
        store.edit({"SegmentText[0]": f"round {round_}"})
        base = store.current()[0].revision
        outcomes = race(root, writers)
        kinds = sorted(o[0] for o in outcomes)
        assert kinds == ["committed"] + ["conflict"] * (writers - 1), outcomes
        assert store.current()[0].revision == base.next()
        # the losers rerun: they see the winner's revision and have nothing left to do
        for _ in range(writers - 1):
            outcome = MovieStore(storage, MOVIE).regenerate(default_registry())
            assert not outcome.plan.has_changes() and not outcome.committed
        assert store.current()[0].revision == base.next()
    assert [r.number for r in store.manifests.published()] == [1, 2, 3]
    assert verify(storage.movie(MOVIE)).ok
