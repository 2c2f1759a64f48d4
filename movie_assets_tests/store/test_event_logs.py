"""Event-log contract over the file log (every storage driver) and the Redis-stream log (real redis-server)."""

import multiprocessing as mp
import threading
import uuid

import pytest

from movie_assets.errors import InvalidDocument
from movie_assets.store.config import StorageConfig
from movie_assets.store.events import EventLog, FileEventLog
from movie_assets.store.models import ArtefactEvent, RevisionId
from movie_assets.store.redis_events import RedisEventLog
from movie_assets.store.storage import StorageContext


@pytest.fixture(params=["file", "redis"])
def make_log(request, storage):
    if request.param == "file":
        return lambda movie="m": FileEventLog(storage.movie(movie))
    server = request.getfixturevalue("redis_server")
    prefix = f"t{uuid.uuid4().hex[:8]}"
    return lambda movie="m": RedisEventLog(storage.movie(movie), server.url, prefix)


def _artefact(job: str) -> ArtefactEvent:
    return ArtefactEvent(
        id="pending",
        job_id=job,
        producer="p",
        producer_version="1",
        inputs_hash="h",
        status="succeeded",
        revision=RevisionId("rev-0001"),
        created_at="t",
    )


def test_every_driver_has_every_operation_the_event_log_protocol_names(make_log):
    assert isinstance(make_log(), EventLog)


def test_append_stream_and_cursor(make_log):
    log = make_log()
    a = log.append_input("Topic", "cats")
    b = log.append_input("Topic", "dogs")
    assert [e.value for e in log.stream_inputs()] == ["cats", "dogs"]
    assert [e.id for e in log.stream_inputs(after=a.id)] == [b.id]
    assert list(log.stream_inputs(after=b.id)) == []
    assert log.last_input_id() == b.id
    x = log.append_artefact(_artefact("j"))
    assert [e.id for e in log.stream_artefacts()] == [x.id] and log.last_artefact_id() == x.id


def test_a_jobs_events_are_appended_together_in_order_after_the_ones_before(make_log):
    log = make_log()
    first = log.append_artefact(_artefact("before"))
    batch = log.append_artefacts([_artefact(f"out{i}") for i in range(5)])
    assert [e.job_id for e in batch] == [f"out{i}" for i in range(5)]
    streamed = list(log.stream_artefacts())
    assert [e.id for e in streamed] == [first.id, *(e.id for e in batch)], "ids given in order, as stored"
    assert [e.job_id for e in streamed] == ["before", *(f"out{i}" for i in range(5))]
    assert log.last_artefact_id() == batch[-1].id and log.append_artefacts([]) == []


def test_an_edit_of_several_keys_is_appended_together_in_order(make_log):
    log = make_log()
    first = log.append_input("Title", "A film")
    edit = log.append_inputs({"SegmentText[0]": "one", "SegmentText[1]": "two", "Style": "noir"}, "user")
    assert [(e.key, e.value) for e in edit] == [("SegmentText[0]", "one"), ("SegmentText[1]", "two"), ("Style", "noir")]
    assert [e.id for e in log.stream_inputs()] == [first.id, *(e.id for e in edit)]
    assert log.last_input_id() == edit[-1].id and log.append_inputs({}) == []


def test_archive_moves_consumed_events_and_keeps_later_ones(make_log):
    log = make_log()
    first = [log.append_input("Topic", f"v{i}") for i in range(5)]
    art = log.append_artefact(_artefact("j1"))
    log.archive("rev-0001", first[2].id, art.id)
    later = log.append_input("Topic", "after")
    # whole history still readable, in order; a cursor after the archive reads only live events
    assert [e.value for e in log.stream_inputs()] == ["v0", "v1", "v2", "v3", "v4", "after"]
    assert [e.value for e in log.stream_inputs(after=first[2].id)] == ["v3", "v4", "after"]
    assert [e.value for e in log.stream_inputs(after=first[0].id)] == ["v1", "v2", "v3", "v4", "after"]
    assert [e.job_id for e in log.stream_artefacts()] == ["j1"]
    archive = log.fs.read("events/rev-0001.inputs.jsonl")
    assert archive.count(b"\n") == 3
    # archiving again (a retried commit) changes nothing
    log.archive("rev-0001", first[2].id, art.id)
    assert log.fs.read("events/rev-0001.inputs.jsonl") == archive
    log.archive("rev-0002", later.id, None)
    assert [e.value for e in log.stream_inputs()] == ["v0", "v1", "v2", "v3", "v4", "after"]
    nxt = log.append_input("Topic", "next")
    assert log.last_input_id() == nxt.id and [e.value for e in log.stream_inputs(after=later.id)] == ["next"]


def test_an_append_held_up_across_another_append_and_a_rotation_keeps_its_edit(moto_s3):
    """An emptied log's bytes are unique, so a conditional write read before the log moved on fails."""
    storage = moto_s3.storage()
    late, other = FileEventLog(storage.movie("m")), FileEventLog(StorageContext(storage.config).movie("m"))
    first = other.append_input("Topic", "first")
    other.archive(RevisionId("rev-0001"), first.id, None)  # the live log now holds nothing to fold
    backend, meanwhile = late.fs.backend, []
    real_update = backend.update

    def held_up(path, change):
        def racing(stored):
            new = change(stored)  # the late append has read the log (and its sequence) and built its line
            if not meanwhile and path.endswith("events/inputs.log"):
                meanwhile.append(other.append_input("Topic", "meanwhile"))
                other.archive(RevisionId("rev-0002"), meanwhile[0].id, None)
            return new

        return real_update(path, racing)

    backend.update = held_up
    kept = late.append_input("Topic", "late")
    assert int(kept.id) > int(meanwhile[0].id), "the late line took an id that was archived meanwhile"
    assert late.fold_inputs(after=meanwhile[0].id) == ({"Topic": "late"}, kept.id)
    fresh = FileEventLog(StorageContext(storage.config).movie("m"))
    assert [e.value for e in fresh.stream_inputs()] == ["first", "meanwhile", "late"]


def test_a_rotation_stopped_before_its_archive_loses_nothing(storage, monkeypatch):
    import movie_assets.store.events as events

    log = FileEventLog(storage.movie("m"))
    first = [log.append_input("Topic", f"v{i}") for i in range(4)]

    def killed(*args):
        raise OSError("killed before the archive was written")

    monkeypatch.setattr(events, "write_archive", killed)
    with pytest.raises(OSError):
        log.archive("rev-0001", first[1].id, None)
    assert not log.fs.exists("events/rev-0001.inputs.jsonl")
    assert [e.value for e in log.stream_inputs()] == ["v0", "v1", "v2", "v3"], "the lines stayed live"
    assert log.last_input_id() == first[-1].id and log.append_input("Topic", "v4").id > first[-1].id
    monkeypatch.undo()
    log.archive("rev-0002", first[1].id, None)  # the next rotation archives them after all
    assert log.fs.read("events/rev-0002.inputs.jsonl").count(b"\n") == 2
    assert [e.value for e in log.stream_inputs()] == ["v0", "v1", "v2", "v3", "v4"]


def test_a_rotation_that_consumes_every_line_keeps_the_newest_as_the_anchor(storage):
    log = FileEventLog(storage.movie("m"))
    lines = [log.append_input("Topic", f"v{i}") for i in range(3)]
    log.archive("rev-0001", lines[-1].id, None)
    assert log.fs.read("events/inputs.log") == lines[-1].canonical() + b"\n"
    assert log.fs.read("events/rev-0001.inputs.jsonl").count(b"\n") == 3
    assert log.fold_inputs(after=lines[-1].id) == ({}, lines[-1].id)
    assert [e.value for e in log.stream_inputs()] == ["v0", "v1", "v2"], "the anchor is read once"
    log.archive("rev-0002", lines[-1].id, None)  # nothing new: neither log nor archive is written
    assert not log.fs.exists("events/rev-0002.inputs.jsonl")
    nxt = log.append_input("Topic", "v3")
    assert int(nxt.id) == int(lines[-1].id) + 1
    assert log.fold_inputs(after=lines[-1].id) == ({"Topic": "v3"}, nxt.id)
    log.archive("rev-0003", nxt.id, None)
    assert log.fs.read("events/inputs.log") == nxt.canonical() + b"\n"
    assert [e.value for e in log.stream_inputs()] == ["v0", "v1", "v2", "v3"]


def test_a_live_log_emptied_beside_a_recorded_sequence_continues_from_it(storage):
    log = FileEventLog(storage.movie("m"))
    log.fs.write_atomic("events/inputs.log", b"")
    log.fs.write_atomic("events/inputs.log.seq", b"7")
    assert log.last_input_id() == "000000000007" and log.fold_inputs(after="000000000007") == ({}, "000000000007")
    assert log.append_input("Topic", "next").id == "000000000008"
    assert log.fold_inputs(after="000000000007") == ({"Topic": "next"}, "000000000008")


def test_appends_during_archive_are_never_lost(make_log):
    log = make_log()
    base = log.append_input("k", -1)
    stop = threading.Event()
    written = []

    def writer():
        i = 0
        while not stop.is_set() and i < 400:
            written.append(log.append_input("k", i).id)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    cursors = [base.id]
    for rev in range(1, 11):
        last = log.last_input_id()
        log.archive(f"rev-{rev:04d}", last, None)
        cursors.append(last)
    stop.set()
    thread.join()
    ids = [e.id for e in log.stream_inputs()]
    assert ids == [base.id, *written]


def test_a_redis_reader_overtaken_by_a_rotation_still_reads_every_event(storage, redis_server):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    log = RedisEventLog(storage.movie("m"), redis_server.url, prefix)
    rotator = RedisEventLog(storage.movie("m"), redis_server.url, prefix)  # another process's housekeeping
    events = [log.append_artefact(_artefact(f"j{i}")) for i in range(6)]
    real = log.client.xrange
    calls = []

    def overtaken(*args, **kwargs):
        if not calls:  # the rotation archives and trims just before the reader's first stream read
            rotator.archive("rev-0001", None, events[3].id)
        calls.append(args)
        return real(*args, **kwargs)

    log.client.xrange = overtaken
    assert [e.id for e in log.stream_artefacts(after=events[0].id)] == [e.id for e in events[1:]]
    assert [e.id for e in log.stream_artefacts()] == [e.id for e in events], "and nothing twice"


def test_malformed_redis_entry_is_a_clear_error(storage, redis_server):
    log = RedisEventLog(storage.movie("m"), redis_server.url, f"t{uuid.uuid4().hex[:8]}")
    log.append_input("Topic", "ok")
    log.client.xadd(log.streams["inputs"], {b"e": b"{not json"})
    with pytest.raises(InvalidDocument, match=r"redis stream .*:inputs entry \d+-\d+: malformed event"):
        list(log.stream_inputs())


def _redis_appends(url, prefix, root, writer, n):
    storage = StorageContext(StorageConfig(root=root))
    log = RedisEventLog(storage.movie("m"), url, prefix)
    for i in range(n):
        log.append_input(f"k{writer}", {"writer": writer, "i": i})


def test_concurrent_redis_appends_from_processes(redis_server, tmp_path):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    ctx = mp.get_context("fork")
    procs = [
        ctx.Process(target=_redis_appends, args=(redis_server.url, prefix, str(tmp_path), w, 500)) for w in range(8)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    events = list(
        RedisEventLog(
            StorageContext(StorageConfig(root=str(tmp_path))).movie("m"), redis_server.url, prefix
        ).stream_inputs()
    )
    assert len(events) == 4000
    for writer in range(8):
        assert [e.value["i"] for e in events if e.value["writer"] == writer] == list(range(500))


def test_a_new_movies_first_edits_are_written_create_only_and_a_log_already_there_is_appended_to(storage):
    log = FileEventLog(storage.movie("m"))
    first = log.start_inputs({"Title": "One", "NumOfSegments": 2})
    assert [e.id for e in first] == ["000000000001", "000000000002"] and log.last_input_id() == first[-1].id
    again = log.start_inputs({"Title": "Two"})  # the log is there: these continue it
    assert [e.id for e in again] == ["000000000003"]
    assert [(e.key, e.value) for e in log.stream_inputs()] == [("Title", "One"), ("NumOfSegments", 2), ("Title", "Two")]
