import multiprocessing as mp
import threading

import pytest

from movie_assets.errors import InvalidDocument
from movie_assets.store import events as events_module
from movie_assets.store.config import StorageConfig
from movie_assets.store.events import ARTEFACTS_LOG, INPUTS_LOG, FileEventLog
from movie_assets.store.hashing import json_hash
from movie_assets.store.models import ArtefactEvent, RevisionId
from movie_assets.store.storage import MovieFS, StorageContext


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


def test_append_and_stream_with_cursor(storage):
    events = FileEventLog(storage.movie("m"))
    first = events.append_input("Topic", "cats")
    second = events.append_input("NumOfSegments", 3)
    assert first.hash == json_hash("cats")
    assert [e.key for e in events.stream_inputs()] == ["Topic", "NumOfSegments"]
    assert [e.id for e in events.stream_inputs(after=first.id)] == [second.id]
    assert events.last_input_id() == second.id
    a = events.append_artefact(_artefact("j1"))
    assert [e.job_id for e in events.stream_artefacts()] == ["j1"] and a.id == events.last_artefact_id()


def test_torn_last_line_is_skipped(storage):
    events = FileEventLog(storage.movie("m"))
    events.append_input("Topic", "cats")
    raw = storage.movie("m").read(INPUTS_LOG)
    storage.movie("m").write_atomic(INPUTS_LOG, raw + b'{"id":"0000000')
    assert [e.value for e in events.stream_inputs()] == ["cats"]
    events.append_input("Topic", "dogs")  # the torn tail is cut, not glued to
    assert [e.value for e in events.stream_inputs()] == ["cats", "dogs"]


def test_malformed_line_in_the_middle_is_a_clear_error(storage):
    events = FileEventLog(storage.movie("m"))
    events.append_artefact(_artefact("j1"))
    raw = storage.movie("m").read(ARTEFACTS_LOG)
    storage.movie("m").write_atomic(ARTEFACTS_LOG, b"{broken json}\n" + raw)
    with pytest.raises(InvalidDocument, match=r"m/events/artefacts.log line 1"):
        list(events.stream_artefacts())
    storage.movie("m").write_atomic(ARTEFACTS_LOG, raw + b"\n" + raw)  # a blank line is no event either
    with pytest.raises(InvalidDocument, match=r"m/events/artefacts.log line 2: malformed event"):
        list(events.stream_artefacts())


def test_an_id_that_is_not_a_sequence_number_is_a_malformed_line_that_repair_moves_aside(storage):
    events = FileEventLog(storage.movie("m"))
    first = events.append_input("Title", "one")
    events.append_input("Title", "two")
    raw = storage.movie("m").read(INPUTS_LOG)
    foreign = raw.split(b"\n")[1].replace(b'"000000000002"', b'"abc"')  # valid JSON, every field there
    storage.movie("m").write_atomic(INPUTS_LOG, raw + foreign + b"\n")
    for read in (lambda: list(events.stream_inputs()), lambda: events.fold_inputs(first.id)):
        with pytest.raises(InvalidDocument, match=r"m/events/inputs.log line 3: malformed event \(id 'abc' is not"):
            read()
    assert events.quarantine_bad_lines() == [f"m/{INPUTS_LOG} line 3 -> " + _only_quarantine(storage)]
    assert events.fold_inputs(first.id) == ({"Title": "two"}, "000000000002")


def _only_quarantine(storage) -> str:
    (found,) = storage.movie("m").list("events/quarantine")
    return found


@pytest.fixture(params=["whole log", "log longer than the tail read"])
def tail_bytes(request, monkeypatch):
    """Either the log fits in the bytes read from its end, or it is longer and only a tail is read."""
    if request.param != "whole log":
        line = len(_artefact("j0").canonical()) + 8  # ids and job names grow a little
        monkeypatch.setattr(events_module, "_TAIL_BYTES", 2 * line + line // 2)
    return request.param


def test_the_newest_id_reads_the_last_lines_skipping_a_torn_write_and_naming_a_bad_last_line(storage, tail_bytes):
    events = FileEventLog(storage.movie("m"))
    ids = [events.append_artefact(_artefact(f"j{i}")).id for i in range(4)]
    raw = storage.movie("m").read(ARTEFACTS_LOG)
    storage.movie("m").write_atomic(ARTEFACTS_LOG, raw + b'{"id":"0000000')
    assert events.last_artefact_id() == ids[-1], "a torn write is not an event"
    storage.movie("m").write_atomic(ARTEFACTS_LOG, raw + b'{"id":"000000000009"}\n')
    with pytest.raises(InvalidDocument, match=r"m/events/artefacts.log line 5: malformed event .*job_id"):
        events.last_artefact_id()
    storage.movie("m").write_atomic(ARTEFACTS_LOG, raw.rstrip(b"\n"))  # an unterminated last line that parses
    assert events.last_artefact_id() == ids[-1]
    storage.movie("m").write_atomic(ARTEFACTS_LOG, b"")
    assert events.last_artefact_id() is None, "an empty log never rotated has no newest id"


def test_the_newest_id_of_a_long_log_reads_only_its_end(storage, monkeypatch):
    monkeypatch.setattr(events_module, "_TAIL_BYTES", 4096)  # the log below is ~46 KB
    events = FileEventLog(storage.movie("m"))
    ids = [events.append_artefact(_artefact(f"j{i}")).id for i in range(200)]
    size = len(storage.movie("m").read(ARTEFACTS_LOG))
    read = []
    for name in ("read", "read_from"):
        real = getattr(MovieFS, name)
        monkeypatch.setattr(
            MovieFS, name, lambda self, *a, _real=real: read.append(len(_real(self, *a))) or _real(self, *a)
        )
    assert events.last_artefact_id() == ids[-1]
    assert 0 < sum(read) < size / 10, (read, size)


def _append_many(root, writer, n):
    events = FileEventLog(StorageContext(StorageConfig(root=root)).movie("m"))
    for i in range(n):
        events.append_input(f"k{writer}", {"writer": writer, "i": i, "pad": "x" * 200})


def test_concurrent_appends_from_processes_stay_intact(tmp_path):
    root = str(tmp_path / "b")
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(root, w, 500)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    events = list(FileEventLog(StorageContext(StorageConfig(root=root)).movie("m")).stream_inputs())
    assert len(events) == 4000
    assert [int(e.id) for e in events] == list(range(1, 4001))
    for writer in range(8):
        assert [e.value["i"] for e in events if e.value["writer"] == writer] == list(range(500))


def test_concurrent_appends_from_threads(storage):
    events = FileEventLog(storage.movie("m"))
    # on S3 every append is a compare-and-swap of the whole object: fewer lines show the same race
    per_writer = 30 if storage.config.driver == "s3" else 100
    threads = [
        threading.Thread(target=lambda w=w: [events.append_input(f"k{w}", i) for i in range(per_writer)])
        for w in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [int(e.id) for e in events.stream_inputs()]
    assert ids == list(range(1, 4 * per_writer + 1))


@pytest.mark.parametrize("last", [b'{"x":1}', b"[1,2]", b'{"id":"abc"}'])
def test_an_append_after_a_last_line_without_a_sequence_id_is_a_clear_error_and_writes_nothing(storage, last):
    events = FileEventLog(storage.movie("m"))
    events.append_input("Title", "one")
    raw = storage.movie("m").read(INPUTS_LOG) + last + b"\n"
    storage.movie("m").write_atomic(INPUTS_LOG, raw)
    with pytest.raises(InvalidDocument, match=r"m/events/inputs.log: last line has no sequence id; .*verify --repair"):
        events.append_input("Title", "two")
    assert storage.movie("m").read(INPUTS_LOG) == raw
