"""Folding input edits: the last value of each key, in the order of each key's last edit.

The hot path of every plan reads a live log of up to 100,000 lines; it decodes each line into three
fields (msgspec) and folds without building an InputEvent per line. A process keeps each fold and later
reads only what the log gained since. A fresh process reads the log's last TAIL_BYTES first: a shorter
log is then read whole in that one request. A longer one may have a fold of many lines stored as a
derived file (`index/folds/`), so the process reads it plus only the lines appended after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from movie_assets.errors import NotFound
from movie_assets.store.cache import BoundedCache
from movie_assets.store.derived import prune_derived, read_derived, write_derived
from movie_assets.store.storage import MovieFS

FOLDS_DIR = "index/folds"
FOLD_FORMAT = 1
STORE_FROM_LINES = 1000  # a fold of fewer lines is quicker to redo than to store and read back
TAIL_BYTES = 64 * 1024  # under STORE_FROM_LINES lines of edits: a log this short is never worth a stored fold


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


def read_ahead(fs: MovieFS, path: str) -> bytes | None:
    """The input log's tail, for a command to read beside its first reads and hand to its fold (on S3 a
    round trip off a plan's path, and for a short log the whole log). None when the process keeps a
    fold of this log, which reads only what was appended since."""
    root = (fs.backend.identity, fs.base)
    return None if any(key[:2] == root for key in _FOLDS.keys()) else read_tail(fs, path)


def is_whole(tail: bytes) -> bool:
    """Whether a tail read_tail gave is the whole log."""
    return len(tail) < TAIL_BYTES


def read_tail(fs: MovieFS, path: str) -> bytes:
    """The log's last TAIL_BYTES (the whole log when shorter; none when there is no log)."""
    try:
        return fs.read_from(path, -TAIL_BYTES)
    except NotFound:
        return b""


def remember(
    key: tuple, data: bytes, values: dict[str, Any], last_id: str | None, stored: StoredFolds | None = None
) -> None:
    """Keep the fold of `data` (a whole live log) under `key`, when it ends with an event's line; with
    `stored`, also store it when it took many lines to make."""
    line = _last_line(data)
    if line is not None:
        folded = Folded(values, last_id, len(data), line)
        _FOLDS.put(key, folded)
        if stored is not None and data.count(b"\n") >= STORE_FROM_LINES:
            stored.save(folded)


class _StoredFold(msgspec.Struct, array_like=True):
    values: dict[str, Any]
    last_id: str | None
    end: int
    last_line: bytes


_STORED_DECODER = msgspec.msgpack.Decoder(_StoredFold)
_STORED_ENCODER = msgspec.msgpack.Encoder()


class StoredFolds:
    """The stored folds of one movie's input log after one cursor: `index/folds/<after>-<last id>-<format>`.

    A fold is named by the cursor it starts after and the last event it holds. It stays true while the
    log is only appended to; `fold_grown` checks that its last line is still where it was before using it,
    so a rotated or repaired log falls back to reading the whole log."""

    def __init__(self, fs: MovieFS, after: str | None) -> None:
        self.fs = fs
        self.prefix = f"{after or 'start'}-"

    def _path(self, last_id: str) -> str:
        return f"{FOLDS_DIR}/{self.prefix}{last_id}-{FOLD_FORMAT}.msgpack"

    def newest(self) -> Folded | None:
        """The stored fold after this cursor that holds the most events, or None."""
        suffix = f"-{FOLD_FORMAT}.msgpack"
        try:
            names = [n.rsplit("/", 1)[-1] for n in self.fs.list(FOLDS_DIR, ordered=False)]
        except Exception:  # a cache: no listing, no stored fold
            return None
        ids = [n[len(self.prefix) : -len(suffix)] for n in names if n.startswith(self.prefix) and n.endswith(suffix)]
        ids = [i for i in ids if numbered(i)]
        if not ids:
            return None
        last_id = max(ids, key=int)
        body = read_derived(self.fs, self._path(last_id), FOLD_FORMAT, key=last_id)
        try:
            found = None if body is None else _STORED_DECODER.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        if found is None or found.last_id != last_id:
            return None
        return Folded(found.values, found.last_id, found.end, found.last_line)

    def save(self, folded: Folded) -> None:
        """Store `folded` (create-only), then drop every other stored fold: only the newest is read."""
        if folded.last_id is None or not numbered(folded.last_id):
            return
        path = self._path(folded.last_id)
        body = _STORED_ENCODER.encode(_StoredFold(folded.values, folded.last_id, folded.end, folded.last_line))
        if write_derived(self.fs, path, FOLD_FORMAT, body, key=folded.last_id):
            prune_derived(self.fs, FOLDS_DIR, {path}, ".msgpack")


def _last_line(data: bytes) -> bytes | None:
    """The complete last line, if it holds something: a blank one names no place in the log."""
    if not data.endswith(b"\n"):
        return None
    line = data[data.rfind(b"\n", 0, len(data) - 1) + 1 :]
    return line if line.strip() else None


def fold_grown(
    key: tuple, read_from: Any, stored: StoredFolds | None = None
) -> tuple[dict[str, Any], str | None] | None:
    """The kept fold under `key` brought up to date by reading only the bytes appended since, or None
    when there is no kept fold or the log was not merely appended to (rotated, repaired, a torn or bad
    new line): the caller then reads the whole log, which checks and reports everything.

    The line that ended the kept fold must still be at the same place: ids are unique and a rewrite only
    ever removes lines, so finding it there means every byte before it is unchanged. Without a kept
    fold, the newest of `stored` is taken up, and stored again when it grew by many lines."""
    kept = _FOLDS.get(key)
    if kept is None and stored is not None:
        kept = stored.newest()
    if kept is None:
        return None
    data = read_from(kept.end - len(kept.last_line))
    if not data.startswith(kept.last_line) or not data.endswith(b"\n"):
        return None
    grown = data[len(kept.last_line) :]
    if not grown:
        _FOLDS.put(key, kept)  # a stored fold taken up is kept as well
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
    folded = Folded(values, last_id, kept.end + len(grown), ending)
    _FOLDS.put(key, folded)
    if stored is not None and len(lines) >= STORE_FROM_LINES:
        stored.save(folded)
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
