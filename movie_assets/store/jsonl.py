"""Reading JSONL event files: each line one record; a torn last line, a bad or blank line, an id that is
not a sequence number, each reported (or skipped) the same way by every reader."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import msgspec

from movie_assets.errors import InvalidDocument
from movie_assets.store.fold import numbered
from movie_assets.store.models import Record, located

log = logging.getLogger("movie_assets.store.events")

E = TypeVar("E", bound=Record)


def parse_jsonl(data: bytes, model: type[E], where: str, keep: Any = None, first_line: int = 1) -> Iterator[E]:
    """Parse JSONL: a torn (unterminated, unparsable) last line is skipped with a warning; a bad line
    elsewhere raises InvalidDocument naming the file and line number (`data` starting at `first_line`)."""
    if not data:
        return
    decoder = model.decoder()
    # the whole log in one call, the usual case; a torn or bad line is then found line by line, and so is
    # a blank one (decode_lines would skip it, and a blank line is a malformed event, as `verify` says)
    if b"\n\n" not in data and not data.startswith(b"\n"):
        try:
            events = decoder.decode_lines(data)
        except msgspec.DecodeError:
            pass
        else:
            yield from (events if keep is None else filter(keep, events))
            return
    lines = data.split(b"\n")
    terminated = data.endswith(b"\n")
    if terminated:
        lines.pop()
    decode = decoder.decode
    for number, raw in enumerate(lines, start=first_line):
        try:
            event = decode(raw)
        except msgspec.DecodeError as exc:
            if number == len(lines) + first_line - 1 and not terminated:
                log.warning("%s line %d: skipping a torn last line (interrupted write)", where, number)
                return
            raise InvalidDocument(
                f"{where} line {number}: malformed event ({located(exc)}); "
                "`movie-assets verify --repair` moves bad lines aside"
            ) from None
        if keep is None or keep(event):
            yield event


def settled_last_event(tail: bytes, model: type[E]) -> E | None:
    """What `last_event` finds in a log ending with `tail`, or None when `tail` cannot tell alone: its
    last two lines not both whole inside it, or either torn, blank or bad. The caller then reads the
    whole log, so every report names the right line."""
    end = len(tail) - 1
    before_last = tail.rfind(b"\n", 0, end)
    start = tail.rfind(b"\n", 0, before_last) if before_last > 0 else -1
    if not tail.endswith(b"\n") or start < 0:
        return None
    decode = model.decoder().decode
    try:
        decode(tail[start + 1 : before_last])
        return decode(tail[before_last + 1 : end])
    except msgspec.DecodeError:
        return None


def last_event(data: bytes, model: type[E], where: str) -> E | None:
    """What parse_jsonl would yield last, parsing only the last two lines (the last may be a torn write):
    a plan asks for the newest id of a 10,000-line log, and parsing all of it again took a third as long
    as the plan."""
    before_last = data.rfind(b"\n", 0, len(data) - 1)
    start = data.rfind(b"\n", 0, before_last) + 1 if before_last > 0 else 0
    events = list(parse_jsonl(data[start:], model, where, first_line=data.count(b"\n", 0, start) + 1))
    return events[-1] if events else None


def numbered_events(events: list[E], where: str) -> list[E]:
    """The events of one JSONL file, once every id is known to be a sequence number (line n is events[n-1]:
    parse_jsonl refuses blank lines and skips only a torn last one)."""
    for number, event in enumerate(events, start=1):
        if not numbered(event.id):  # type: ignore[attr-defined]
            raise InvalidDocument(
                f"{where} line {number}: malformed event (id {event.id!r} is not a sequence number); "  # type: ignore[attr-defined]
                "`movie-assets verify --repair` moves bad lines aside"
            )
    return events


def bad_lines(data: bytes, model: type[Record]) -> list[tuple[int, bytes]]:
    """(line number, bytes) of complete lines that do not parse as `model` or whose id is not a sequence
    number (a torn tail is not one)."""
    body, newline, _torn = data.rpartition(b"\n")
    decoder = model.decoder()
    bad = []
    for number, raw in enumerate(body.split(b"\n") if newline else [], start=1):
        try:
            if not numbered(decoder.decode(raw).id):  # type: ignore[attr-defined]
                bad.append((number, raw))
        except msgspec.DecodeError:
            bad.append((number, raw))
    return bad


def dropping(doomed: set[bytes]) -> Callable[[bytes | None], bytes]:
    """An update removing the given complete lines and keeping everything else (a torn tail too)."""

    def change(current: bytes | None) -> bytes:
        body, newline, torn = (current or b"").rpartition(b"\n")
        if not newline:
            return current or b""
        return b"".join(raw + b"\n" for raw in body.split(b"\n") if raw not in doomed) + torn

    return change
