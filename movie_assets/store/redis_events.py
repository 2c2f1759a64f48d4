"""RedisEventLog: one Redis stream per movie and log; archived to the store on commit, then trimmed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import redis
from pydantic import ValidationError

from movie_assets.errors import InvalidDocument
from movie_assets.store.events import E, archive_path, new_input_event, newest_archived_id, read_archives, write_archive
from movie_assets.store.models import ArtefactEvent, InputEvent
from movie_assets.store.storage import MovieFS

FIELD = b"e"


def stream_id(value: str | bytes) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def _after(value: str) -> str:
    ms, seq = stream_id(value)
    return f"{ms}-{seq + 1}"


class RedisEventLog:
    """XADD to append, XRANGE after a cursor to read; archives go to `events/<rev>.<kind>.jsonl`."""

    def __init__(self, fs: MovieFS, client: redis.Redis | str, prefix: str = "movie_assets") -> None:
        self.fs = fs
        self.movie_id = fs.movie_id
        self.client = redis.Redis.from_url(client) if isinstance(client, str) else client
        self.streams = {kind: f"{prefix}:{fs.movie_id}:{kind}" for kind in ("inputs", "artefacts")}

    # ---- appends ------------------------------------------------------------------------------
    def append_input(self, key: str, value: Any, edited_by: str = "user") -> InputEvent:
        return self._append("inputs", new_input_event(key, value, edited_by))

    def append_artefact(self, event: ArtefactEvent) -> ArtefactEvent:
        return self._append("artefacts", event)

    def _append(self, kind: str, event: E) -> E:
        new_id = self.client.xadd(self.streams[kind], {FIELD: event.canonical()})
        return event.model_copy(update={"id": new_id.decode()})

    # ---- reads --------------------------------------------------------------------------------
    def stream_inputs(self, after: str | None = None) -> Iterator[InputEvent]:
        return self._stream("inputs", InputEvent, after)

    def stream_artefacts(self, after: str | None = None) -> Iterator[ArtefactEvent]:
        return self._stream("artefacts", ArtefactEvent, after)

    def _stream(self, kind: str, model: type[E], after: str | None) -> Iterator[E]:
        stream = self.streams[kind]
        trimmed = self.client.get(f"{stream}:trimmed")
        last: str | None = after
        if after is None or (trimmed is not None and stream_id(after) < stream_id(trimmed)):
            floor = stream_id(after) if after else (-1, -1)
            for event in read_archives(self.fs, kind, model, lambda e: stream_id(e.id) > floor):
                last = event.id
                yield event
        # entries archived by a commit that died before trimming are still in the stream: start after them
        start = "-" if last is None else f"({last}"
        while True:
            batch = self.client.xrange(stream, min=start, max="+", count=1000)
            if not batch:
                return
            for entry_id, fields in batch:
                yield self._parse(model, stream, entry_id, fields)
            start = f"({batch[-1][0].decode()}"

    def _parse(self, model: type[E], stream: str, entry_id: bytes, fields: dict) -> E:
        try:
            return model.model_validate_json(fields[FIELD]).model_copy(update={"id": entry_id.decode()})
        except (KeyError, ValidationError) as exc:
            raise InvalidDocument(f"redis stream {stream} entry {entry_id.decode()}: malformed event ({exc})") from None

    def last_input_id(self) -> str | None:
        return self._last("inputs")

    def last_artefact_id(self) -> str | None:
        return self._last("artefacts")

    def _last(self, kind: str) -> str | None:
        stream = self.streams[kind]
        newest = self.client.xrevrange(stream, max="+", min="-", count=1)
        if newest:
            return newest[0][0].decode()
        trimmed = self.client.get(f"{stream}:trimmed")
        return trimmed.decode() if trimmed else None

    # ---- commit-time archive -------------------------------------------------------------------
    def archive(self, revision: str, input_cursor: str | None, artefact_cursor: str | None) -> None:
        """Archive each stream up to its cursor, then trim; trims only after every archive is written."""
        written = []
        for kind, cursor in (("inputs", input_cursor), ("artefacts", artefact_cursor)):
            if cursor is None:
                continue
            entries = self.client.xrange(self.streams[kind], min="-", max=cursor)
            if not entries:
                continue
            # entries archived by a commit that died before trimming are trimmed now, not archived twice
            archived = newest_archived_id(self.fs, kind)
            fresh = [(i, f) for i, f in entries if archived is None or stream_id(i) > stream_id(archived)]
            model = InputEvent if kind == "inputs" else ArtefactEvent
            lines = [self._parse(model, self.streams[kind], i, f).canonical() for i, f in fresh]
            if lines:
                write_archive(self.fs, archive_path(revision, kind), lines)
            written.append((kind, cursor))
        for kind, cursor in written:
            stream = self.streams[kind]
            pipe = self.client.pipeline(transaction=True)
            pipe.xtrim(stream, minid=_after(cursor), approximate=False)
            pipe.set(f"{stream}:trimmed", cursor)
            pipe.execute()
