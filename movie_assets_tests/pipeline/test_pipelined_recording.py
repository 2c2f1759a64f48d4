"""On a remote root, later layers run on earlier outputs held in memory while those are stored and logged."""

from __future__ import annotations

import pytest

from movie_assets.errors import StorageError
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.store.blobs import BlobStore, blob_path
from movie_assets.store.storage import StorageConfig, StorageContext

from ..flaky_proxy import FlakyProxy
from ..helpers import CountingProduce, quick

ROUND_TRIP = 0.2  # every request through the proxy: a stored output lands this long after it is sent


@pytest.fixture
def slow_s3(moto_s3):
    """A movie on S3 behind a proxy with a long round trip, and a direct view of the same bucket."""
    proxy = FlakyProxy(moto_s3.endpoint)
    storage = moto_s3.storage(endpoint=proxy.endpoint)
    direct = StorageContext(StorageConfig(driver="s3", root=storage.config.root, options=moto_s3.options()))
    store = MovieStore(storage, "film")
    blueprint = load_builtin("audio-only")
    store.init(blueprint, quick(blueprint, {"Title": "Test", "NumOfSegments": 2}))
    assert store.regenerate(CountingProduce()).committed
    yield store, proxy, direct.movie("film")
    proxy.stop()


class Watching(CountingProduce):
    """The offline producers; each job notes which of its inputs the store did not hold yet as it started."""

    def __init__(self, direct) -> None:
        super().__init__()
        self.direct = direct
        self.ahead: dict[str, list[str]] = {}

    def __call__(self, request):
        absent = [ref.hash for ref in request.artefact_blobs() if not self.direct.exists(blob_path(ref.hash))]
        self.ahead[request.job.job_id] = absent
        return super().__call__(request)


def test_a_chain_of_jobs_runs_ahead_of_its_outputs_being_stored_and_each_is_logged_after_its_inputs(slow_s3):
    store, proxy, direct = slow_s3
    store.edit({"SegmentText[0]": "A lighthouse wakes before the storm."})
    proxy.delay = ROUND_TRIP
    produce = Watching(direct)
    outcome = store.regenerate(produce)
    proxy.delay = 0
    assert outcome.committed
    assert sorted(produce.calls) == ["export", "segment-0000/narration", "segment-0000/script", "timeline"]
    ran_ahead = [job for job, absent in produce.ahead.items() if absent]
    assert "segment-0000/narration" in ran_ahead, f"every job waited for its inputs to be stored: {produce.ahead}"
    manifest, _ = store.current()
    assert all(direct.exists(blob_path(entry.blob.hash)) for entry in manifest.artefacts.values())
    logged = [e.job_id for e in store.events.stream_artefacts() if e.revision == manifest.revision]
    order = ["segment-0000/script", "segment-0000/narration", "timeline", "export"]
    assert [job for job in logged if job in order] == order, "an output is logged only after the inputs it read"
    assert store.verify().ok


def test_an_output_the_store_refuses_fails_the_jobs_that_read_it_early_and_nothing_is_published(slow_s3, monkeypatch):
    store, proxy, direct = slow_s3
    store.edit({"SegmentText[0]": "A lighthouse wakes before the storm."})
    live = store.current()[0].revision
    real = BlobStore.put

    def refusing(self, data, *args, **kwargs):
        if isinstance(data, bytes) and b"lighthouse wakes" in data:
            raise StorageError("the bucket refused the write")
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(BlobStore, "put", refusing)
    proxy.delay = ROUND_TRIP
    produce = Watching(direct)
    outcome = store.regenerate(produce)
    proxy.delay = 0
    assert not outcome.committed and store.current()[0].revision == live
    results = outcome.run.results
    assert results["segment-0000/script"].status == "failed"
    assert produce.ahead.get("segment-0000/narration"), "the narration read the script before it was stored"
    narration = results["segment-0000/narration"]
    assert narration.status == "failed" and "segment-0000/script were not stored" in narration.error
    assert all(results[job].status != "succeeded" for job in ("timeline", "export") if job in results)
    assert store.verify().ok
    monkeypatch.undo()
    assert store.regenerate(CountingProduce()).committed, "a rerun publishes"
    assert store.verify().ok
