"""Folding the input log gives what applying every edit in turn gives, from any cursor."""

from __future__ import annotations

import random

import pytest

from movie_assets.store.events import FileEventLog
from movie_assets.store.fold import fold_events


def _applied_in_turn(events, after):
    """The reference: apply each edit, a key moving to the end when edited again."""
    values, last = {}, after
    for event in events:
        values.pop(event.key, None)
        values[event.key] = event.value
        last = event.id
    return values, last


@pytest.mark.parametrize("seed", range(5))
def test_the_fast_fold_from_any_cursor_matches_applying_each_edit(local_storage, seed):
    rng = random.Random(seed)
    log = FileEventLog(local_storage.movie("m"))
    keys = ["Title", "SegmentText", "SegmentText[0]", "SegmentText[1]", "NumOfSegments"]
    events = [log.append_input(rng.choice(keys), rng.randrange(100)) for _ in range(120)]
    if seed % 2:  # a rotated log: the cursor may fall in the archive, before the live lines
        log.archive("rev-0001", events[40].id, None)
    for cursor in [None, events[0].id, events[39].id, events[40].id, events[77].id, events[-1].id]:
        expected = _applied_in_turn([e for e in events if cursor is None or int(e.id) > int(cursor)], cursor)
        folded = log.fold_inputs(cursor)
        assert folded == expected and list(folded[0]) == list(expected[0]), cursor  # values and their order


def test_folding_nothing_keeps_the_cursor():
    assert fold_events([], "000000000007") == ({}, "000000000007")
    assert fold_events(iter([]), None) == ({}, None)
