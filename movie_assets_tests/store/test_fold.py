"""Folding the input log gives what applying every edit in turn gives, from any cursor."""

from __future__ import annotations

import json
import random

import pytest

from movie_assets.errors import InvalidDocument
from movie_assets.store import fold as fold_module
from movie_assets.store.events import INPUTS_LOG, FileEventLog, new_input_event
from movie_assets.store.fold import fold_events


def _applied_in_turn(events, after):
    """The reference: apply each edit, a key moving to the end when edited again."""
    values, last = {}, after
    for event in events:
        values.pop(event.key, None)
        values[event.key] = event.value
        last = event.id
    return values, last


def _random_edits(log, rng, count):
    """`count` edits of random values to keys that overlap (a list spelling and its indexed keys)."""
    keys = ["Title", "SegmentText", "SegmentText[0]", "SegmentText[1]", "NumOfSegments"]
    return [log.append_input(rng.choice(keys), rng.randrange(100)) for _ in range(count)]


@pytest.mark.parametrize("seed", range(5))
def test_the_fast_fold_from_any_cursor_matches_applying_each_edit(local_storage, seed):
    rng = random.Random(seed)
    log = FileEventLog(local_storage.movie("m"))
    events = _random_edits(log, rng, 120)
    if seed % 2:  # a rotated log: the cursor may fall in the archive, before the live lines
        log.archive("rev-0001", events[40].id, None)
    for cursor in [None, events[0].id, events[39].id, events[40].id, events[77].id, events[-1].id]:
        expected = _applied_in_turn([e for e in events if cursor is None or int(e.id) > int(cursor)], cursor)
        folded = log.fold_inputs(cursor)
        assert folded == expected and list(folded[0]) == list(expected[0]), cursor  # values and their order


def test_folding_nothing_keeps_the_cursor():
    assert fold_events([], "000000000007") == ({}, "000000000007")
    assert fold_events(iter([]), None) == ({}, None)


def _fold_afresh(log, cursor):
    fold_module._FOLDS.clear()
    return log.fold_inputs(cursor)


def _stored_folds_log(storage, monkeypatch, seed, count):
    """A movie's input log of `count` random edits, whose folds are stored from 20 lines on (a log of
    more than a few lines counts as long)."""
    fs = storage.movie("m")
    log = FileEventLog(fs)
    monkeypatch.setattr(fold_module, "STORE_FROM_LINES", 20)
    monkeypatch.setattr(fold_module, "TAIL_BYTES", 512)
    return fs, log, _random_edits(log, random.Random(seed), count)


def _decoded_lines(monkeypatch) -> list:
    """The lines every fold decodes from now on, as it decodes them."""
    decoded: list = []
    real = fold_module.INPUT_LINES

    class Counting:
        def decode_lines(self, data):
            lines = real.decode_lines(data)
            decoded.extend(lines)
            return lines

    monkeypatch.setattr(fold_module, "INPUT_LINES", Counting())
    return decoded


@pytest.mark.parametrize("seed", range(3))
def test_a_kept_fold_brought_up_to_date_equals_folding_the_whole_log_again(storage, seed):
    rng = random.Random(seed)
    log = FileEventLog(storage.movie("m"))
    events = _random_edits(log, rng, 10)
    cursor = events[3].id
    log.fold_inputs(cursor)  # kept
    for _ in range(4):
        events += _random_edits(log, rng, rng.randrange(4))
        kept = log.fold_inputs(cursor)
        expected = _applied_in_turn([e for e in events if int(e.id) > int(cursor)], cursor)
        assert kept == expected and list(kept[0]) == list(expected[0])
        assert _fold_afresh(log, cursor) == kept


def test_a_later_fold_reads_only_what_the_log_gained(local_storage, monkeypatch):
    fs = local_storage.movie("m")
    log = FileEventLog(fs)
    for i in range(50):
        log.append_input(f"SegmentText[{i}]", "x" * 100)
    assert len(log.fold_inputs(None)[0]) == 50
    whole, offsets = [], []
    real_read, real_read_from = fs.read, fs.read_from
    monkeypatch.setattr(fs, "read", lambda rel: whole.append(rel) or real_read(rel))
    monkeypatch.setattr(fs, "read_from", lambda rel, at: offsets.append(at) or real_read_from(rel, at))
    log.fold_inputs(None)
    edit = log.append_input("Title", "new")
    values, last = log.fold_inputs(None)
    assert (last, list(values)[-1], values["Title"]) == (edit.id, "Title", "new")
    assert INPUTS_LOG not in whole and min(offsets) > 50 * 100


def test_a_store_built_again_for_the_same_place_finds_the_kept_fold_and_another_place_does_not(storage, monkeypatch):
    """A daemon or viewer builds its storage anew per request: what the last request kept must be found
    (keyed by where the bytes live, not by the driver object), and never lent to another root."""
    from movie_assets.store.config import StorageConfig
    from movie_assets.store.storage import StorageContext

    first = FileEventLog(storage.movie("m"))
    for i in range(50):
        first.append_input(f"SegmentText[{i}]", "x" * 100)
    assert len(first.fold_inputs(None)[0]) == 50
    again = StorageContext(StorageConfig(**storage.config.model_dump()))
    assert again.movie("m").backend is not storage.movie("m").backend
    assert again.movie("m").backend.identity == storage.movie("m").backend.identity
    fs = again.movie("m")
    whole = []
    real_read = fs.read
    monkeypatch.setattr(fs, "read", lambda rel: whole.append(rel) or real_read(rel))
    log = FileEventLog(fs)
    edit = log.append_input("Title", "new")
    values, last = log.fold_inputs(None)
    assert (last, len(values), values["Title"]) == (edit.id, 51, "new")
    assert INPUTS_LOG not in whole  # only the appended bytes were read
    elsewhere = StorageContext(StorageConfig(**{**storage.config.model_dump(), "root": storage.config.root + "-b"}))
    assert elsewhere.movie("m").backend.identity != fs.backend.identity
    assert FileEventLog(elsewhere.movie("m")).fold_inputs(None) == ({}, None)


def _log_of(ids, longer=()):
    """Input-log bytes with one equal-length line per id (an edit of `Key<id>`), but one byte longer for
    the ids in `longer`."""
    events = [new_input_event(f"Key{i:02d}", "vv" if i in longer else "v", event_id=f"{i:012d}") for i in ids]
    return b"".join(e.replace(created_at="2026-11-27T00:00:00Z").canonical() + b"\n" for e in events)


def test_a_rewritten_log_is_read_whole_again(local_storage):
    fs = local_storage.movie("m")
    log = FileEventLog(fs)
    fs.write_atomic(INPUTS_LOG, _log_of(range(1, 7)))
    assert list(log.fold_inputs("000000000001")[0]) == ["Key02", "Key03", "Key04", "Key05", "Key06"]
    # rotated (the first four lines archived), then appended to: the kept end now falls on line 10's end,
    # and what follows it parses, so only the line that ended the kept fold can tell the log was rewritten
    fs.write_atomic(INPUTS_LOG, _log_of(range(5, 13)))
    assert log.fold_inputs("000000000001") == _fold_afresh(log, "000000000001")
    log.fold_inputs("000000000004")
    fs.write_atomic(INPUTS_LOG, _log_of([5, 6, 8, 9, 10, 11, 12, 13]))  # a line lost from the kept part
    assert log.fold_inputs("000000000004") == _fold_afresh(log, "000000000004")


def test_a_log_ending_in_a_blank_line_keeps_no_fold_since_a_newline_names_no_place(local_storage):
    fs = local_storage.movie("m")
    log = FileEventLog(fs)
    fs.write_atomic(INPUTS_LOG, _log_of(range(1, 6)) + b"\n")
    assert list(log.fold_inputs(None)[0]) == ["Key01", "Key02", "Key03", "Key04", "Key05"]
    # rewritten so that a newline sits where the blank line was and whole lines follow it: a kept fold
    # checked against that newline would take lines 11 and 12 for what was appended
    fs.write_atomic(INPUTS_LOG, _log_of(range(6, 13), longer={6}))
    assert log.fold_inputs(None) == _fold_afresh(log, None)


@pytest.mark.parametrize(
    "appended, outcome",
    [
        (b'{"id":"000000000099","key":"Title"', "torn"),  # an append still being written
        (b"\n", "as read whole"),  # a blank line is no event: the whole read passes over it too
        (b"not json\n", "bad"),
        (b'{"id":"abc","key":"Title","value":"x"}\n', "bad"),  # an id that is not a sequence number
        (b'{"id":"000000000001","key":"Title","value":"x"}\n', "as read whole"),  # an id that does not grow
    ],
)
def test_an_odd_appended_line_gets_what_reading_the_whole_log_gives(local_storage, appended, outcome):
    fs = local_storage.movie("m")
    log = FileEventLog(fs)
    log.append_input("Title", "one")
    assert log.fold_inputs(None) == ({"Title": "one"}, "000000000001")
    fs.write_atomic(INPUTS_LOG, fs.read(INPUTS_LOG) + appended)
    if outcome == "torn":  # skipped with a warning, as the whole read does
        assert log.fold_inputs(None) == ({"Title": "one"}, "000000000001")
    elif outcome == "as read whole":
        assert log.fold_inputs(None) == _fold_afresh(log, None)
    else:
        with pytest.raises(InvalidDocument, match="line 2: malformed event"):
            log.fold_inputs(None)


def test_a_fresh_process_reads_the_stored_fold_and_decodes_only_the_lines_after_it(storage, monkeypatch):
    fs, log, events = _stored_folds_log(storage, monkeypatch, 7, 30)
    cursor = events[2].id
    assert _fold_afresh(log, cursor) == _applied_in_turn(events[3:], cursor)
    [stored] = fs.list(fold_module.FOLDS_DIR)
    assert stored.endswith(f"-{events[-1].id}-{fold_module.FOLD_FORMAT}.msgpack")
    events += _random_edits(log, random.Random(8), 5)
    decoded = _decoded_lines(monkeypatch)
    folded = _fold_afresh(log, cursor)
    assert folded == _applied_in_turn(events[3:], cursor) and list(folded[0]) == list(
        _applied_in_turn(events[3:], cursor)[0]
    )
    assert len(decoded) == 5, "only the appended lines were decoded"


def test_a_stored_fold_of_a_log_that_was_rewritten_is_not_used(local_storage, monkeypatch):
    fs, log, events = _stored_folds_log(local_storage, monkeypatch, 3, 25)
    _fold_afresh(log, None)
    assert fs.list(fold_module.FOLDS_DIR)
    # a repaired log: its last edit now holds another value, so the stored fold no longer stands for it
    lines = fs.read(INPUTS_LOG).splitlines(keepends=True)
    last = json.loads(lines[-1])
    last["value"] = "rewritten"
    fs.write_atomic(INPUTS_LOG, b"".join(lines[:-1]) + json.dumps(last).encode() + b"\n")
    rewritten = list(log.stream_inputs())
    assert rewritten[-1].value == "rewritten"
    assert _fold_afresh(log, None) == _applied_in_turn(rewritten, None)
    assert len(rewritten) == len(events)


def test_a_damaged_stored_fold_is_ignored_with_a_warning(local_storage, monkeypatch, caplog):
    fs, log, events = _stored_folds_log(local_storage, monkeypatch, 4, 25)
    _fold_afresh(log, None)
    [stored] = fs.list(fold_module.FOLDS_DIR)
    data = bytearray(fs.read(stored))
    data[-70] ^= 0xFF
    fs.write_atomic(stored, bytes(data))
    with caplog.at_level("WARNING"):
        assert _fold_afresh(log, None) == _applied_in_turn(events, None)
    assert "ignoring a derived file" in caplog.text


def test_a_short_log_is_folded_from_its_tail_alone_and_a_tail_read_ahead_is_the_folds_read(storage, monkeypatch):
    fs = storage.movie("m")
    log = FileEventLog(fs)
    events = _random_edits(log, random.Random(12), 30)
    reads: list = []
    for name in ("read", "read_from", "list"):
        real = getattr(fs, name)
        monkeypatch.setattr(fs, name, lambda *a, _n=name, _r=real, **k: reads.append((_n, a[0])) or _r(*a, **k))
    fold_module._FOLDS.clear()
    tail = fold_module.read_ahead(fs, INPUTS_LOG)
    assert fold_module.is_whole(tail) and reads == [("read_from", INPUTS_LOG)]
    assert log.fold_inputs(None, tail) == _applied_in_turn(events, None)
    assert reads == [("read_from", INPUTS_LOG)], "no other read, no listing of stored folds"
    fold_module._FOLDS.clear()
    assert log.fold_inputs(events[9].id) == _applied_in_turn(events[10:], events[9].id)
    assert reads[1:] == [("read_from", INPUTS_LOG)], "without a tail read ahead: the same one read"
    assert fold_module.read_ahead(fs, INPUTS_LOG) is None, "the process keeps a fold of this log"


def test_a_long_log_looks_for_its_stored_fold_after_its_tail(local_storage, monkeypatch):
    fs, log, events = _stored_folds_log(local_storage, monkeypatch, 11, 30)
    _fold_afresh(log, None)
    assert fs.list(fold_module.FOLDS_DIR)
    fold_module._FOLDS.clear()
    tail = fold_module.read_ahead(fs, INPUTS_LOG)
    assert not fold_module.is_whole(tail)
    decoded = _decoded_lines(monkeypatch)
    assert log.fold_inputs(None, tail) == _applied_in_turn(events, None)
    assert decoded == [], "the stored fold, and nothing appended after it"


@pytest.mark.parametrize("seed", range(4))
def test_reads_from_every_cursor_match_the_edits_through_rotations_some_stopped_before_their_strip(
    local_storage, monkeypatch, seed
):
    """Appends and rotations in random turns (cursors only move on, as commits move them; some rotations
    stopped after their archive): from every cursor, streaming and folding give exactly the edits after
    it, in a fresh process as in this one."""
    rng = random.Random(seed)
    fs = local_storage.movie("m")
    log = FileEventLog(fs)
    edits, cursors = [], [None]
    for turn in range(14):
        edits += _random_edits(log, rng, rng.choice([0, 1, 3, 6]))
        if edits and rng.random() < 0.6:
            cursor = rng.choice([e.id for e in edits if cursors[-1] is None or int(e.id) >= int(cursors[-1])])
            stopped = rng.random() < 0.25
            if stopped:  # killed once the archive is written, before the strip
                monkeypatch.setattr(fs, "update", lambda *a, **k: (_ for _ in ()).throw(OSError("killed")))
            try:
                log.archive(f"rev-{turn + 1:04d}", cursor, None)
            except OSError:
                assert stopped
            monkeypatch.undo()
            cursors.append(cursor)
        for after in {*cursors, edits[-1].id if edits else None}:
            expected = [e for e in edits if after is None or int(e.id) > int(after)]
            assert [e.id for e in log.stream_inputs(after)] == [e.id for e in expected], (turn, after)
            assert _fold_afresh(log, after) == _applied_in_turn(expected, after), (turn, after)
            assert log.fold_inputs(after) == _applied_in_turn(expected, after), "the fold this process keeps"
    assert log.last_input_id() == (edits[-1].id if edits else None)
