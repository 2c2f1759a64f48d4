"""Append-only event logs of input edits and producer results (JSONL files, or Redis streams)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import msgspec

from movie_assets.errors import InvalidDocument, NotFound
from movie_assets.store.archives import archive_path, newest_archived_id, read_archives, sequence, write_archive
from movie_assets.store.fold import (
    INPUT_LINES,
    StoredFolds,
    first_after,
    fold_events,
    fold_grown,
    is_whole,
    numbered,
    read_tail,
    remember,
)
from movie_assets.store.group_append import GroupAppend
from movie_assets.store.hashing import json_hash
from movie_assets.store.jsonl import (
    E,
    bad_lines,
    dropping,
    last_event,
    numbered_events,
    parse_jsonl,
    settled_last_event,
)
from movie_assets.store.models import ArtefactEvent, InputEvent, utc_now
from movie_assets.store.parallel import at_once, each, shared, threads_for
from movie_assets.store.storage import MovieFS

INPUTS_LOG = "events/inputs.log"
ARTEFACTS_LOG = "events/artefacts.log"
PENDING_ID = "pending"


@runtime_checkable
class EventLog(Protocol):
    """Where edits and producer results are appended and read back in order."""

    movie_id: str

    def append_input(self, key: str, value: Any, edited_by: str = "user") -> InputEvent: ...

    def append_inputs(self, values: dict[str, Any], edited_by: str = "user") -> list[InputEvent]:
        """Append an edit of several keys in order, together: all are acknowledged when this returns."""
        ...

    def append_artefact(self, event: ArtefactEvent) -> ArtefactEvent: ...

    def append_artefacts(self, events: list[ArtefactEvent]) -> list[ArtefactEvent]:
        """Append several events in order, together: all are acknowledged when this returns."""
        ...

    def stream_inputs(self, after: str | None = None) -> Iterator[InputEvent]: ...

    def stream_artefacts(self, after: str | None = None) -> Iterator[ArtefactEvent]: ...

    def last_input_id(self) -> str | None: ...

    def last_artefact_id(self) -> str | None: ...

    def archive(self, revision: str, input_cursor: str | None, artefact_cursor: str | None) -> None: ...

    def quarantine_bad_lines(self) -> list[str]: ...


def new_input_event(key: str, value: Any, edited_by: str = "user", event_id: str = PENDING_ID) -> InputEvent:
    """An InputEvent whose hash is the canonical-JSON hash of its value."""
    return InputEvent(
        id=event_id, key=key, value=value, hash=json_hash(value), created_at=utc_now(), edited_by=edited_by
    )


class _SeqLine(msgspec.Struct):
    id: str | int


_SEQ_LINE = msgspec.json.Decoder(_SeqLine)
_TAIL_BYTES = 64 * 1024  # holds a log's last two lines unless its values are long texts


def _format_seq(seq: int) -> str:
    return f"{seq:012d}"


class FileEventLog:
    """JSONL logs under `events/` with sequence ids assigned under the append lock."""

    def __init__(self, fs: MovieFS) -> None:
        self.fs = fs
        self.movie_id = fs.movie_id
        # a run's jobs append from several threads: written together, where racing on S3 would cost a
        # failed conditional write, a re-read and a backoff each (other processes still race safely)
        self._groups: dict[str, GroupAppend] = {INPUTS_LOG: GroupAppend(), ARTEFACTS_LOG: GroupAppend()}
        self._shared: dict[str, Callable[[], bytes]] | None = None  # see sharing_reads

    def sharing_reads(self) -> FileEventLog:
        """A view of these logs that reads each live log once, whoever asks and however many at once,
        and answers every read with that: for work that asks several times and wants the logs as they
        were when it began (the housekeeping after a commit: its metrics, rotation and results index)."""
        view = FileEventLog(self.fs)
        view._groups = self._groups
        view._shared = {rel: shared(lambda rel=rel: self.fs.read(rel)) for rel in (INPUTS_LOG, ARTEFACTS_LOG)}
        return view

    def _read(self, relative: str) -> bytes:
        """The whole live log (NotFound when there is none), as sharing_reads says."""
        return self._shared[relative]() if self._shared is not None else self.fs.read(relative)

    # ---- appends ------------------------------------------------------------------------------
    def append_input(self, key: str, value: Any, edited_by: str = "user") -> InputEvent:
        return self.append_inputs({key: value}, edited_by)[0]

    def append_inputs(self, values: dict[str, Any], edited_by: str = "user") -> list[InputEvent]:
        """One append of several lines (on S3 one read and one write for an edit of many keys)."""
        events = [new_input_event(key, value, edited_by) for key, value in values.items()]
        return self._append(INPUTS_LOG, events) if events else []

    def start_inputs(self, values: dict[str, Any], edited_by: str = "init") -> list[InputEvent]:
        """The first edits of a new movie: the input log written create-only with ids from 1 (on S3 one
        PUT, where an append first reads the log and its recorded sequence); an append if it exists."""
        events = [
            new_input_event(key, value, edited_by, _format_seq(n)) for n, (key, value) in enumerate(values.items(), 1)
        ]
        if events and self.fs.write_if_absent(INPUTS_LOG, b"".join(e.canonical() + b"\n" for e in events)):
            return events
        return self.append_inputs(values, edited_by)

    def append_artefact(self, event: ArtefactEvent) -> ArtefactEvent:
        return self.append_artefacts([event])[0]

    def append_artefacts(self, events: list[ArtefactEvent]) -> list[ArtefactEvent]:
        """One append of several lines (on S3 one read and one write for a job's every output)."""
        return self._append(ARTEFACTS_LOG, events) if events else []

    def _append(self, relative: str, events: list[E]) -> list[E]:
        return self._groups[relative].append(events, lambda together: self._write(relative, together))

    def _write(self, relative: str, events: list[E]) -> list[E]:
        assigned: list[list[E]] = []

        def build(last: bytes | None) -> bytes:
            seq = self._seq_of(relative, last)
            assigned.append([e.replace(id=_format_seq(seq + n)) for n, e in enumerate(events, start=1)])
            return b"".join(stamped.canonical() + b"\n" for stamped in assigned[-1])

        self.fs.append_line(relative, build, lines=len(events))
        return assigned[-1]

    def _seq_of(self, relative: str, last: bytes | None) -> int:
        if last is None:  # a live log emptied by a rotation that kept no anchor: the sequence beside it
            return self._recorded_seq(relative) or 0
        seq = _seq_or_none(last)
        if seq is None:
            raise InvalidDocument(
                f"{self._where(relative)}: last line has no sequence id; "
                "`movie-assets verify --repair` moves bad lines aside"
            )
        return seq

    # ---- reads --------------------------------------------------------------------------------
    def stream_inputs(self, after: str | None = None) -> Iterator[InputEvent]:
        return self._stream(INPUTS_LOG, InputEvent, after)

    def stream_artefacts(self, after: str | None = None) -> Iterator[ArtefactEvent]:
        return self._stream(ARTEFACTS_LOG, ArtefactEvent, after)

    def last_input_id(self) -> str | None:
        return self._last_id(INPUTS_LOG, InputEvent)

    def last_artefact_id(self) -> str | None:
        return self._last_id(ARTEFACTS_LOG, ArtefactEvent)

    def _last_id(self, relative: str, model: type[E]) -> str | None:
        """The newest id: the live log's last line, else the sequence recorded beside an emptied log."""
        try:
            if self._shared is not None:  # a view sharing reads reads the whole log once for every ask
                last = last_event(self._read(relative), model, self._where(relative))
            else:  # every plan asks: only the last bytes, not all 24 MB of a 50,001-artefact movie's results
                data = self.fs.read_from(relative, -_TAIL_BYTES)
                last = settled_last_event(data, model) if len(data) == _TAIL_BYTES else None
                if last is None:
                    data = data if len(data) < _TAIL_BYTES else self.fs.read(relative)
                    last = last_event(data, model, self._where(relative))
        except NotFound:
            last = None
        if last is not None:
            return last.id  # type: ignore[attr-defined]
        recorded = self._recorded_seq(relative)
        return None if recorded is None else _format_seq(recorded)

    def _recorded_seq(self, relative: str) -> int | None:
        """The sequence recorded beside the log (what a live log emptied without an anchor continues from)."""
        try:
            return int(self.fs.read(f"{relative}.seq").decode().strip())
        except NotFound:
            return None

    def _where(self, relative: str) -> str:
        return f"{self.movie_id}/{relative}"

    def _stream(self, relative: str, model: type[E], after: str | None) -> Iterator[E]:
        try:
            data = self._read(relative)
        except NotFound:
            data = b""
        threshold = int(after) if after is not None else -1
        lines = numbered_events(list(parse_jsonl(data, model, self._where(relative))), self._where(relative))
        # ids only grow along the live log: one search, not a test per line
        live = lines if after is None else lines[first_after(lines, threshold) :]
        # archives are read only when the live log may not start right after `after` (ids start at 1)
        last = threshold
        if self._rotated_past(relative, live, max(threshold, 0), bool(lines)):
            kind = _KIND[relative]
            for event in read_archives(self.fs, kind, model, lambda e: sequence(e.id, kind) > threshold):
                last = max(last, int(event.id))
                yield event
        # a rotation killed after writing its archive leaves those lines live until the next one strips them
        yield from (live if last == threshold else live[first_after(live, last) :])

    def fold_inputs(self, after: str | None = None, tail: bytes | None = None) -> tuple[dict[str, Any], str | None]:
        """The last value of each key edited after `after` (in order of last edit) and the newest id.

        The hot path of every plan: the live log is decoded into three-field structs without building
        an InputEvent per line. Anything unusual (a torn or bad line, a cursor older than the live log)
        takes the careful path through stream_inputs, which reports or skips such lines. As ever, this
        path passes over a blank line (no event) and reads only the ids it needs, the first, the last
        and those its search reads; `verify` checks every line. `tail`: the log's tail, read ahead
        (fold.read_ahead), else read here when needed."""
        key = (self.fs.backend.identity, self.fs.base, after)
        stored = StoredFolds(self.fs, after)
        read_from = lambda offset: self.fs.read_from(INPUTS_LOG, offset)  # noqa: E731
        try:
            grown = fold_grown(key, read_from)  # a fold this process keeps: only the bytes appended since
            if grown is not None:
                return grown
            data = tail if tail is not None else read_tail(self.fs, INPUTS_LOG)
            if not is_whole(data):  # a long log: its stored fold, if any, then only what followed it
                grown = fold_grown(key, read_from, stored)
                if grown is not None:
                    return grown
                data = self.fs.read(INPUTS_LOG)
        except NotFound:
            data = b""
        threshold = int(after) if after is not None else -1
        try:
            lines = INPUT_LINES.decode_lines(data)
            # ids only grow along the live log: skip the consumed prefix with one search, not a test per line
            live = lines[first_after(lines, threshold) :]
            if live and not (numbered(live[0].id) and numbered(live[-1].id)):
                raise ValueError("an id that is not a sequence number")
        except (msgspec.DecodeError, ValueError):  # the careful path names the line
            return fold_events(self.stream_inputs(after), after)
        # ids start at 1, so a live log starting there holds the whole history (no archive to read)
        if self._rotated_past(INPUTS_LOG, live, max(threshold, 0), bool(lines)):
            return fold_events(self.stream_inputs(after), after)
        values, last_id = fold_events(live, after)
        remember(key, data, values, last_id, stored)
        return dict(values), last_id

    def _rotated_past(self, relative: str, live: list, threshold: int, any_line: bool) -> bool:
        """Whether lines after `threshold` may be archived only (`live`: the live lines after it)."""
        if live:
            return int(live[0].id) > threshold + 1
        if any_line:  # a strip removes a prefix: a line after the threshold would follow a live one
            return False
        recorded = self._recorded_seq(relative)
        return recorded is not None and recorded > threshold

    def archive(self, revision: str, input_cursor: str | None, artefact_cursor: str | None) -> None:
        """Move the lines up to each cursor into `events/<rev>.<kind>.jsonl`; lines appended meanwhile stay."""
        logs = [(INPUTS_LOG, input_cursor), (ARTEFACTS_LOG, artefact_cursor)]
        work = [(rel, int(cursor), archive_path(revision, _KIND[rel])) for rel, cursor in logs if cursor is not None]
        # the two logs are rotated independently: on S3 their chains of round trips overlap, and one
        # listing of the archives answers both
        listed = shared(lambda: self.fs.list("events"))
        each(lambda item: self._rotate(*item, listed), work, threads_for(self.fs, 2))

    def _rotate(self, relative: str, cursor: int, archive_rel: str, listed: Callable[[], list[str]]) -> None:
        def live() -> bytes | None:
            try:
                return self._read(relative)
            except NotFound:
                return None

        # a rotation killed between writing its archive and stripping the log left those lines live:
        # they are archived already, so they are only stripped now, never archived twice
        archived_id = lambda: newest_archived_id(self.fs, _KIND[relative], listed)  # noqa: E731
        data, archived = at_once([live, archived_id], threads_for(self.fs, 2))
        if data is None:
            return
        # the log only grows between rotations, so the consumed prefix read now is the one removed below
        lines = data.split(b"\n")
        consumed = [raw for raw in lines if _consumed(raw, cursor)]
        fresh = [raw for raw in consumed if archived is None or (_seq_or_none(raw) or 0) > int(archived)]
        if fresh:  # written before the strip: those lines stay live until the archive holds them
            write_archive(self.fs, archive_rel, fresh)
        if not consumed or lines == [consumed[0], b""]:  # nothing to strip, or only what stays as the anchor
            return

        def strip(current: bytes | None) -> bytes:
            body, newline, torn = (current or b"").rpartition(b"\n")
            complete = body.split(b"\n") if newline else []
            if not newline:  # no complete line at all: everything is a torn tail
                torn = current or b""
            kept = b"".join(raw + b"\n" for raw in complete if raw and not _consumed(raw, cursor))
            if not kept:
                kept = _anchor(complete, cursor)
            return kept + torn  # a torn tail stays unterminated, for the next append to cut

        self.fs.update(relative, strip)

    # ---- repair -------------------------------------------------------------------------------
    def quarantine_bad_lines(self) -> list[str]:
        """Move every unparsable complete line of the live logs to `events/quarantine/`, keeping every
        good line (and lines appended meanwhile) in place; what was moved, one description a line."""
        moved = []
        for relative, model in ((INPUTS_LOG, InputEvent), (ARTEFACTS_LOG, ArtefactEvent)):
            try:
                data = self.fs.read(relative)
            except NotFound:
                continue
            bad = bad_lines(data, model)
            if not bad:
                continue
            stamp = utc_now().replace(":", "").replace("-", "")[:15]
            kept_aside = f"events/quarantine/{relative.rsplit('/', 1)[-1]}.{stamp}.jsonl"
            self.fs.write_atomic(kept_aside, b"".join(raw + b"\n" for _, raw in bad))  # first: nothing is lost
            self.fs.update(relative, dropping({raw for _, raw in bad}))
            moved += [f"{self._where(relative)} line {number} -> {kept_aside}" for number, raw in bad]
        return moved


def _anchor(complete: list[bytes], cursor: int) -> bytes:
    """The newest consumed line, kept live where a strip would leave the log without a line.

    Its bytes make every emptied log unique: an empty object's ETag is every empty object's, so an
    append whose If-Match was read before another append and a rotation would still match, and take an
    id that was archived meanwhile (readers would skip its line as consumed: a lost edit). Readers skip
    the anchor as any consumed line, the archive holds it too, and an append continues from its id."""
    consumed = [raw for raw in complete if raw and _consumed(raw, cursor)]
    return consumed[-1] + b"\n" if consumed else b""


def _consumed(raw: bytes, cursor: int) -> bool:
    seq = _seq_or_none(raw)
    return seq is not None and seq <= cursor


def _seq_or_none(raw: bytes) -> int | None:
    """A log line's sequence number, from its id alone (None when it has none). Every append reads the
    last line's, and a rotation every line's: a whole `json.loads` per line cost ~10 µs."""
    try:
        return int(_SEQ_LINE.decode(raw).id)
    except (msgspec.DecodeError, ValueError):
        return None


_KIND = {INPUTS_LOG: "inputs", ARTEFACTS_LOG: "artefacts"}


def fold_inputs(event_log: EventLog, after: str | None, tail: bytes | None = None) -> tuple[dict[str, Any], str | None]:
    """Input edits after `after`, folded: the driver's fast path when it has one (`tail`: see there)."""
    fast = getattr(event_log, "fold_inputs", None)
    if fast is not None:
        return fast(after, tail)
    return fold_events(event_log.stream_inputs(after=after), after)
