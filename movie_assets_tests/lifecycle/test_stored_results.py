"""A commit stores the reusable results it leaves, so a new process plans without folding the artefact log."""

from __future__ import annotations

import logging

import pytest

from movie_assets.lifecycle import checkpoints, stored_results
from movie_assets.lifecycle.stored_results import RESULTS_DIR, StoredResults, _position
from movie_assets.movie import MovieStore
from movie_assets.store.config import StorageConfig
from movie_assets.store.events import ARTEFACTS_LOG
from movie_assets.store.storage import StorageContext

from ..helpers import CountingProduce, comparable, full_pass
from .common import small_movie


def _new_process(store: MovieStore) -> MovieStore:
    """The same movie as a new process opens it: its own backend, nothing kept in memory."""
    checkpoints._INDEXES.clear()
    return MovieStore(StorageContext(store.fs.storage.config), store.movie_id)


def _reads_of_the_artefact_log(store: MovieStore, monkeypatch) -> list[str]:
    reads: list[str] = []
    backend = store.fs.backend
    for name in ("read", "read_from"):
        original = getattr(backend, name)

        def counting(path, *args, _original=original, **kwargs):
            if "artefacts" in path and "checkpoint" not in path:
                reads.append(path)
            return _original(path, *args, **kwargs)

        monkeypatch.setattr(backend, name, counting)
    return reads


@pytest.fixture
def film(local_storage) -> MovieStore:
    store = small_movie(local_storage, segments=3)
    for take in ("first words", "second words"):
        store.edit({"SegmentText[1]": take})
        assert store.regenerate(CountingProduce()).committed
    return store


def test_a_commit_stores_the_results_it_leaves_and_keeps_only_the_newest(film):
    [stored] = film.fs.list(RESULTS_DIR)
    assert stored == f"{RESULTS_DIR}/{film.events.last_artefact_id()}-8-{stored_results.FORMAT}.msgpack"
    film.edit({"SegmentText[0]": "again"})
    assert film.regenerate(CountingProduce()).committed
    [newer] = film.fs.list(RESULTS_DIR)
    assert newer != stored and film.events.last_artefact_id() in newer


def test_a_new_process_plans_from_the_stored_results_without_reading_the_log(film, monkeypatch):
    film.edit({"SegmentText[1]": "first words"})  # back to a take whose results only the log holds
    expected = full_pass(film)
    fresh = _new_process(film)
    reads = _reads_of_the_artefact_log(fresh, monkeypatch)
    plan = fresh.plan()
    assert comparable(plan) == expected
    assert plan.reused and not plan.jobs, "the earlier take's results are found in the stored index"
    assert reads == [f"{fresh.fs.base}/{ARTEFACTS_LOG}"], "only the log's last id, from its tail"


def test_results_logged_after_the_stored_index_are_found_too(film):
    film.edit({"SegmentText[2]": "not committed"})
    outcome = film.regenerate(CountingProduce(), up_to_layer=1)  # logs layer 1's results, publishes nothing
    assert outcome.run is not None and not outcome.committed
    fresh = _new_process(film)
    plan = fresh.plan()
    assert comparable(plan) == full_pass(fresh)
    assert "segment-0002/script" in plan.reused, "its result was logged after the commit stored the index"


def test_a_plan_decodes_only_the_stored_results_it_finds(film, monkeypatch):
    film.edit({"SegmentText[0]": "first words"})  # segment 1's earlier take: segment 0 never had it
    fresh = _new_process(film)
    decoded: list[str] = []
    real = stored_results._OUTPUTS_DECODER

    class Counting:
        def decode(self, raw):
            outputs = real.decode(raw)
            decoded.extend(outputs)
            return outputs

    monkeypatch.setattr(stored_results, "_OUTPUTS_DECODER", Counting())
    plan = fresh.plan()
    assert plan.jobs and not plan.reused and decoded == [], "a dirty job's lookup finds nothing, decodes nothing"

    film.edit({"SegmentText[0]": ""})  # back: its committed result is in the manifest, found without the index
    film.edit({"SegmentText[1]": "first words"})  # an earlier take: its results only the stored index holds
    plan = _new_process(film).plan()
    assert plan.reused and not plan.jobs
    reused_outputs = [a for job in plan.reused for a in plan.carried[job].outputs]
    assert "segment-0001/script/text" in reused_outputs
    assert sorted(decoded) == sorted(reused_outputs), "only the results it reuses"


def test_a_damaged_or_foreign_stored_index_is_ignored_with_a_warning(film, caplog):
    film.edit({"SegmentText[1]": "first words"})
    expected = full_pass(film)
    [stored] = film.fs.list(RESULTS_DIR)
    data = bytearray(film.fs.read(stored))
    data[-80] ^= 0xFF  # inside the jobs' bytes: the sha256 no longer matches
    for damaged in (bytes(data), b"not msgpack at all"):
        film.fs.write_atomic(stored, damaged)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert comparable(_new_process(film).plan()) == expected
        assert "ignoring a derived file" in caplog.text


def test_without_a_stored_index_the_plan_folds_the_log_as_before(film):
    film.edit({"SegmentText[1]": "first words"})
    expected = full_pass(film)
    for rel in film.fs.list(RESULTS_DIR):
        film.fs.delete(rel)
    assert comparable(_new_process(film).plan()) == expected


def test_the_stored_index_keeps_the_newest_results_per_job(film):
    fresh = _new_process(film)
    fresh.checkpoints.per_job = fresh.checkpoints.results.per_job = 2
    fresh.checkpoints.keep_results(fresh.events)
    jobs = fresh.checkpoints.results.load(fresh.events.last_artefact_id())
    kept = StoredResults(jobs)
    scripts = [signature for job, signature in kept if job == "segment-0001/script"]
    newest = fresh.current()[0].jobs["segment-0001/script"].inputs_hash
    assert len(scripts) == 2 and scripts[-1] == newest, "three takes logged, the newest two kept, oldest first"


def test_event_ids_of_both_log_drivers_order_as_numbers():
    assert _position("000000000010") > _position("000000000009")
    assert _position("1700000000000-12") > _position("1700000000000-3") > _position("1699999999999-40")
    assert _position("rev-0001") is None and _position("") is None and _position(None) is None


def test_a_movie_on_the_redis_log_stores_its_results_under_stream_ids(local_storage, redis_server):
    import uuid

    from movie_assets.pipeline.blueprint.load import load_builtin
    from movie_assets.store.redis_events import RedisEventLog

    prefix = f"t{uuid.uuid4().hex[:8]}"

    def open_movie(storage: StorageContext) -> MovieStore:
        return MovieStore(storage, "film", RedisEventLog(storage.movie("film"), redis_server.url, prefix))

    store = open_movie(local_storage)
    store.init(load_builtin("audio-only"), {"Title": "Streams", "NumOfSegments": 2})
    for take in ("", "first words", "second words"):
        if take:
            store.edit({"SegmentText[1]": take})
        assert store.regenerate(CountingProduce()).committed
    [stored] = store.fs.list(RESULTS_DIR)
    assert "-" in store.events.last_artefact_id() and store.events.last_artefact_id() in stored

    store.edit({"SegmentText[1]": "first words"})
    store.edit({"SegmentText[0]": "never made"})
    assert store.regenerate(CountingProduce(), up_to_layer=1).pointer is None  # logs segment 0's script only
    checkpoints._INDEXES.clear()
    fresh = open_movie(StorageContext(StorageConfig.from_url(local_storage.backend.root)))
    plan = fresh.plan()
    assert comparable(plan) == full_pass(fresh)
    assert {"segment-0001/script", "segment-0000/script"} <= set(plan.reused), "stored, and logged since"


def test_every_storage_driver_keeps_the_results_for_a_new_process(storage):
    store = small_movie(storage, segments=2)
    for take in ("first words", "second words"):
        store.edit({"SegmentText[1]": take})
        assert store.regenerate(CountingProduce()).committed
    assert len(store.fs.list(RESULTS_DIR)) == 1, "each commit keeps only its own"
    store.edit({"SegmentText[1]": "first words"})
    fresh = _new_process(store)
    plan = fresh.plan()
    assert plan.reused and not plan.jobs
    assert comparable(plan) == full_pass(fresh)


def test_stored_results_that_cannot_be_read_or_listed_leave_the_plan_to_the_log(film, monkeypatch, caplog):
    from movie_assets.errors import StorageError

    film.edit({"SegmentText[1]": "first words"})
    expected = full_pass(film)
    fresh = _new_process(film)
    real_list, real_read = type(fresh.fs).list, type(fresh.fs).read

    def failing_list(fs, prefix="", *args, **kwargs):
        if prefix == RESULTS_DIR:
            raise StorageError(f"{prefix}: Permission denied")
        return real_list(fs, prefix, *args, **kwargs)

    def failing_read(fs, rel, *args, **kwargs):
        if rel.startswith(RESULTS_DIR):
            raise StorageError(f"{rel}: Permission denied")
        return real_read(fs, rel, *args, **kwargs)

    monkeypatch.setattr(type(fresh.fs), "list", failing_list)
    monkeypatch.setattr(type(fresh.fs), "read", failing_read)
    with caplog.at_level(logging.WARNING):
        assert comparable(fresh.plan()) == expected
    assert "cannot be read" in caplog.text and "cannot list stored results" in caplog.text


def test_a_fresh_plan_reads_the_results_stored_at_the_logs_last_id_without_listing_them(film, monkeypatch):
    film.edit({"SegmentText[1]": "first words"})
    expected = full_pass(film)
    fresh = _new_process(film)
    real_list, listed = type(fresh.fs).list, []

    def counting(fs, prefix="", *args, **kwargs):
        listed.append(prefix)
        return real_list(fs, prefix, *args, **kwargs)

    monkeypatch.setattr(type(fresh.fs), "list", counting)
    loaded = []
    real_load = type(fresh.checkpoints.results).load
    monkeypatch.setattr(type(fresh.checkpoints.results), "load", lambda r, c: loaded.append(c) or real_load(r, c))
    assert comparable(fresh.plan()) == expected
    assert RESULTS_DIR not in listed and loaded == [fresh.events.last_artefact_id()]


def test_the_newest_stored_index_at_or_before_the_logs_last_id_is_the_one_read(local_storage):
    from movie_assets.lifecycle.stored_results import ResultsIndex

    fs = local_storage.movie("film")
    results = ResultsIndex(fs, per_job=8)
    for cursor in ("000000000005", "000000000010", "000000000020"):
        assert results.save(cursor, {})
    fs.write_atomic(f"{RESULTS_DIR}/000000000012-4-{stored_results.FORMAT}.msgpack", b"another per-job bound")
    fs.write_atomic(f"{RESULTS_DIR}/000000000013-8-0.msgpack", b"an older format")
    fs.write_atomic(f"{RESULTS_DIR}/notes.txt", b"not ours")
    assert results.newest("000000000015") == "000000000010", "a log cut back below 20 does not read 20"
    assert results.newest("000000000020") == "000000000020"
    assert results.newest("000000000004") is None and results.newest(None) is None
    assert not results.save("000000000010", {}), "create-only"
