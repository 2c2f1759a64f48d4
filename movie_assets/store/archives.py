"""Archives of rotated event-log lines: `events/<rev>.<kind>.jsonl`, one per revision and log kind."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from movie_assets.errors import InvalidDocument
from movie_assets.store.fold import numbered
from movie_assets.store.jsonl import E, parse_jsonl
from movie_assets.store.models import RevisionId
from movie_assets.store.storage import MovieFS

_ARCHIVE = re.compile(r"^events/(rev-\d{4,})\.(inputs|artefacts)\.jsonl$")


def archive_path(revision: str, kind: str) -> str:
    return f"events/{revision}.{kind}.jsonl"


def write_archive(fs: MovieFS, relative: str, lines: list[bytes]) -> None:
    """Create an archive; if one exists (a retried commit), merge so that no line is ever dropped."""
    data = b"".join(raw + b"\n" for raw in lines)
    if fs.write_if_absent(relative, data):
        return
    existing = fs.read(relative)
    if existing == data:
        return
    known = set(existing.split(b"\n"))
    extra = [raw for raw in lines if raw not in known]
    if extra:
        fs.write_atomic(relative, existing + b"".join(raw + b"\n" for raw in extra))


def newest_archived_id(fs: MovieFS, kind: str, listed: Callable[[], list[str]] | None = None) -> str | None:
    """The id of the last event in the newest archive of one kind (None when nothing is archived).
    `listed`: the `events/` folder's names, if the caller shares one listing among several asks."""
    found = _of_kind(listed() if listed is not None else fs.list("events"), kind)
    if not found:
        return None
    lines = [raw for raw in fs.read(max(found)[1]).split(b"\n") if raw.strip()]
    for raw in reversed(lines):
        try:
            return str(json.loads(raw)["id"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def read_archives(fs: MovieFS, kind: str, model: type[E], keep: Any) -> Iterator[E]:
    """Events of the archives of one kind that pass `keep` (events after a cursor), oldest first.

    Archives hold consecutive id ranges in revision order, so they are read newest first and the
    scan stops at the first archive holding an event at or before the cursor: reading after a recent
    cursor costs the few archives past it, not the whole history.
    """
    chunks: list[list[E]] = []
    for _, rel in sorted(_of_kind(fs.list("events"), kind), reverse=True):
        events = list(parse_jsonl(fs.read(rel), model, f"{fs.movie_id}/{rel}"))
        kept = [e for e in events if keep(e)]
        chunks.append(kept)
        if len(kept) < len(events):
            break
    for chunk in reversed(chunks):
        yield from chunk


def _of_kind(names: list[str], kind: str) -> list[tuple[int, str]]:
    """(revision number, path) of the archives of one kind among a listing of `events/`."""
    found = []
    for rel in names:
        match = _ARCHIVE.match(rel)
        if match and match.group(2) == kind:
            found.append((RevisionId(match.group(1)).number, rel))
    return found


def sequence(event_id: str, kind: str) -> int:
    """An archived file-log event's sequence number (archives hold lines the live log checked)."""
    if not numbered(event_id):
        raise InvalidDocument(f"events/*.{kind}.jsonl: malformed event (id {event_id!r} is not a sequence number)")
    return int(event_id)
