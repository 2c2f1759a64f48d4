"""Folding input edits: the last value of each key, in the order of each key's last edit.

The hot path of every plan reads a live log of up to 100,000 lines; it decodes each line into three
fields (msgspec) and folds without building an InputEvent per line. A long-lived process (the Dagster
sensor, a regenerate, the viewer) keeps each fold and later reads only what the log gained since.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from movie_assets.store.cache import BoundedCache


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


def numbered(event_id: str) -> bool:
    """True for a file log's id, a sequence number (`000000000042`); a hand-edited or foreign line may
    carry anything, and `int()` of it would end a plan in a traceback."""
    return event_id.isascii() and event_id.isdigit()


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


@dataclass(frozen=True)
class Folded:
    """A fold of a live log's first `end` bytes, which end with `last_line`."""

    values: dict[str, Any]  # shared: never mutated, copied when handed out
    last_id: str | None
    end: int
    last_line: bytes


_FOLDS: BoundedCache[Folded] = BoundedCache(8)


def remember(key: tuple, data: bytes, values: dict[str, Any], last_id: str | None) -> None:
    """Keep the fold of `data` (a whole live log) under `key`, when it ends with an event's line."""
    line = _last_line(data)
    if line is not None:
        _FOLDS.put(key, Folded(values, last_id, len(data), line))


def _last_line(data: bytes) -> bytes | None:
    """The complete last line, if it holds something: a blank one names no place in the log."""
    if not data.endswith(b"\n"):
        return None
    line = data[data.rfind(b"\n", 0, len(data) - 1) + 1 :]
    return line if line.strip() else None


def fold_grown(key: tuple, read_from: Any) -> tuple[dict[str, Any], str | None] | None:
    """The kept fold under `key` brought up to date by reading only the bytes appended since, or None
    when there is no kept fold or the log was not merely appended to (rotated, repaired, a torn or bad
    new line): the caller then reads the whole log, which checks and reports everything.

    The line that ended the kept fold must still be at the same place: ids are unique and a rewrite only
    ever removes lines, so finding it there means every byte before it is unchanged."""
    kept = _FOLDS.get(key)
    if kept is None:
        return None
    data = read_from(kept.end - len(kept.last_line))
    if not data.startswith(kept.last_line) or not data.endswith(b"\n"):
        return None
    grown = data[len(kept.last_line) :]
    if not grown:
        return dict(kept.values), kept.last_id
    lines = _appended(grown, kept.last_id)
    ending = _last_line(data)
    if lines is None or ending is None:
        return None
    values = dict(kept.values)
    for line in lines:  # each edit moves its key to the end: the order of last edits, as fold_events keeps
        values.pop(line.key, None)
        values[line.key] = line.value
    last_id = lines[-1].id
    _FOLDS.put(key, Folded(values, last_id, kept.end + len(grown), ending))
    return dict(values), last_id


def _appended(grown: bytes, last_id: str | None) -> list | None:
    """The appended lines, if each decodes, has a sequence number for its id, and follows `last_id`."""
    try:
        lines = INPUT_LINES.decode_lines(grown)
    except msgspec.DecodeError:
        return None
    if not lines or not all(numbered(line.id) for line in lines):
        return None
    return lines if last_id is None or int(lines[0].id) > int(last_id) else None
