"""Folding input edits: the last value of each key, in the order of each key's last edit.

The hot path of every plan reads a live log of up to 100,000 lines; it decodes each line into three
fields (msgspec) and folds without building an InputEvent per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec


def first_after(lines: list, threshold: int) -> int:
    """Index of the first line whose id is above `threshold` (ids increase along the log)."""
    low, high = 0, len(lines)
    while low < high:
        mid = (low + high) // 2
        if int(lines[mid].id) > threshold:
            high = mid
        else:
            low = mid + 1
    return low


class _InputLine(msgspec.Struct):
    id: str
    key: str
    value: Any = None


INPUT_LINES = msgspec.json.Decoder(_InputLine)


def fold_events(events: Iterable[Any], after: str | None) -> tuple[dict[str, Any], str | None]:
    """Fold input events into {key: last value}, ordered by each key's last edit, and the newest id.

    Ordering by last edit keeps the fold equal to applying every event in turn, even when two spellings
    of one input (`SegmentText` as a list, then `SegmentText[1]`) overlap. Read newest first, each key's
    first sighting is its last edit: one set test per event instead of a pop and an insert."""
    events = events if isinstance(events, list) else list(events)
    if not events:
        return {}, after
    newest_first: dict[str, Any] = {}
    for event in reversed(events):
        if event.key not in newest_first:
            newest_first[event.key] = event.value
    return dict(reversed(newest_first.items())), events[-1].id
