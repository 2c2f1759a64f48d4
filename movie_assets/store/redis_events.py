"""RedisEventLog: one Redis stream per movie and log; archived to the store on commit, then trimmed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import msgspec
import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from movie_assets.errors import InvalidDocument, InvalidValue, StorageError
from movie_assets.store.archives import archive_path, newest_archived_id, read_archives, write_archive
from movie_assets.store.events import new_input_event
from movie_assets.store.jsonl import E
from movie_assets.store.models import ArtefactEvent, InputEvent
from movie_assets.store.storage import MovieFS

FIELD = b"e"
DURABILITY_MODES = "aof (default: the server must run appendonly yes + appendfsync always), replicas:N, or none"


def stream_id(value: str | bytes) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def _after(value: str) -> str:
    ms, seq = stream_id(value)
    return f"{ms}-{seq + 1}"


def parse_durability(text: str) -> tuple[str, int]:
    """`aof`, `none` or `replicas:N` -> (mode, replicas)."""
    mode, _, count = text.strip().lower().partition(":")
    if mode in ("aof", "none") and not count:
        return mode, 0
    if mode == "replicas" and count.isdigit() and int(count) >= 1:
        return mode, int(count)
    raise InvalidValue(f"unknown redis durability {text!r}: use {DURABILITY_MODES}")


class RedisEventLog:
    """XADD to append, XRANGE after a cursor to read; archives go to `events/<rev>.<kind>.jsonl`.

    An append is acknowledged only once it is durable: by default the server must persist every
    write before answering (appendonly yes, appendfsync always), checked before the first write, so
    a crash of redis-server never loses an acknowledged edit; `replicas:N` instead WAITs for N
    replicas after each append; `none` accepts the risk.
    """

    def __init__(
        self, fs: MovieFS, client: redis.Redis | str, prefix: str = "movie_assets", durability: str = "aof"
    ) -> None:
        self.fs = fs
        self.movie_id = fs.movie_id
        if isinstance(client, str):
            try:
                parts = urlsplit(client)
                self.where = f"redis at {parts.hostname or 'localhost'}:{parts.port or 6379}"  # never the password
                # a server that restarts answers "loading the dataset" until its AOF is read back: that is
                # a wait of seconds, not an outage, so those answers are retried (about 20 s in all)
                self.client = redis.Redis.from_url(
                    client,
                    socket_connect_timeout=5,
                    socket_timeout=30,
                    retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 40, (redis.exceptions.BusyLoadingError,)),
                )
            except ValueError as exc:  # a port out of range, a scheme redis does not speak
                raise InvalidValue(f"MOVIE_ASSETS_REDIS_URL is not a Redis URL: {_without_secret(str(exc))}") from None
        else:
            self.where, self.client = "redis", client
        self.streams = {kind: f"{prefix}:{fs.movie_id}:{kind}" for kind in ("inputs", "artefacts")}
        self.durability = parse_durability(durability)
        self._durable_checked = False

    @contextlib.contextmanager
    def _talking(self) -> Iterator[None]:
        """Turn a lost or refused connection into one StorageError naming the server."""
        try:
            yield
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise StorageError(f"{self.where} is unreachable: {exc}") from None

    def _check_durable(self) -> None:
        mode, _ = self.durability
        if mode != "aof" or self._durable_checked:
            return
        try:
            config = {_text(k): _text(v) for k, v in self.client.config_get("append*").items()}
        except redis.exceptions.ResponseError as exc:
            raise StorageError(
                f"{self.where}: cannot check persistence (CONFIG GET refused: {exc}); set "
                "MOVIE_ASSETS_REDIS_DURABILITY to replicas:N or none"
            ) from None
        if config.get("appendonly") != "yes" or config.get("appendfsync") != "always":
            raise StorageError(
                f"{self.where} would lose acknowledged edits in a crash (appendonly {config.get('appendonly')}, "
                f"appendfsync {config.get('appendfsync')}): run it with --appendonly yes --appendfsync always, "
                "or set MOVIE_ASSETS_REDIS_DURABILITY (replicas:N, or none to accept the risk)"
            )
        self._durable_checked = True

    # ---- appends ------------------------------------------------------------------------------
    def append_input(self, key: str, value: Any, edited_by: str = "user") -> InputEvent:
        return self.append_inputs({key: value}, edited_by)[0]

    def append_inputs(self, values: dict[str, Any], edited_by: str = "user") -> list[InputEvent]:
        """One round trip: the XADDs in order on one connection, then (replicas mode) the WAIT."""
        events = [new_input_event(key, value, edited_by) for key, value in values.items()]
        return self._append("inputs", events) if events else []

    def append_artefact(self, event: ArtefactEvent) -> ArtefactEvent:
        return self.append_artefacts([event])[0]

    def append_artefacts(self, events: list[ArtefactEvent]) -> list[ArtefactEvent]:
        """One round trip: the XADDs in order on one connection, then (replicas mode) the WAIT."""
        return self._append("artefacts", events) if events else []

    def _append(self, kind: str, events: list[E]) -> list[E]:
        with self._talking():
            self._check_durable()
            mode, replicas = self.durability
            if mode != "replicas" and len(events) == 1:
                new_id = self.client.xadd(self.streams[kind], {FIELD: events[0].canonical()})
                return [events[0].replace(id=new_id.decode())]
            # not MULTI: a WAIT inside a transaction does not wait. One connection keeps the order.
            pipe = self.client.pipeline(transaction=False)
            for event in events:
                pipe.xadd(self.streams[kind], {FIELD: event.canonical()})
            if mode == "replicas":  # WAIT counts the replicas holding every write this connection sent
                pipe.wait(replicas, 10_000)
            answers = pipe.execute()
            ids = [new_id.decode() for new_id in answers[: len(events)]]
            if mode == "replicas" and (acked := answers[-1]) < replicas:
                raise StorageError(
                    f"{self.where}: append {ids[-1]} reached {acked} of {replicas} replicas in 10 s; "
                    "it is not acknowledged"
                )
        return [event.replace(id=new_id) for event, new_id in zip(events, ids, strict=True)]

    # ---- reads --------------------------------------------------------------------------------
    def stream_inputs(self, after: str | None = None) -> Iterator[InputEvent]:
        return self._stream("inputs", InputEvent, after)

    def stream_artefacts(self, after: str | None = None) -> Iterator[ArtefactEvent]:
        return self._stream("artefacts", ArtefactEvent, after)

    def _stream(self, kind: str, model: type[E], after: str | None) -> Iterator[E]:
        with self._talking():
            yield from self._read(kind, model, after)

    def _read(self, kind: str, model: type[E], after: str | None) -> Iterator[E]:
        """The stream after `after`, read before the trim marker: a rotation writes its archive before
        it trims and moves the marker (one transaction), so a stream read that a trim overtook is made
        whole from the archives. A reader may run beside a rotation (housekeeping's lanes do)."""
        stream = self.streams[kind]
        live: list[tuple[bytes, dict]] = []
        start = "-" if after is None else f"({after}"
        while batch := self.client.xrange(stream, min=start, max="+", count=1000):
            live += batch
            start = f"({batch[-1][0].decode()}"
        trimmed = self.client.get(f"{stream}:trimmed")
        last: str | None = after
        if after is None or (trimmed is not None and stream_id(after) < stream_id(trimmed)):
            floor = stream_id(after) if after else (-1, -1)
            for event in read_archives(self.fs, kind, model, lambda e: stream_id(e.id) > floor):
                last = event.id
                yield event
        # entries archived by a commit that died before trimming are still in the stream: after them only
        newest = stream_id(last) if last is not None else (-1, -1)
        for entry_id, fields in live:
            if stream_id(entry_id) > newest:
                yield self._parse(model, stream, entry_id, fields)

    def _parse(self, model: type[E], stream: str, entry_id: bytes, fields: dict) -> E:
        try:
            return model.decoder().decode(fields[FIELD]).replace(id=entry_id.decode())
        except (KeyError, msgspec.DecodeError) as exc:
            raise InvalidDocument(f"redis stream {stream} entry {entry_id.decode()}: malformed event ({exc})") from None

    def last_input_id(self) -> str | None:
        return self._last("inputs")

    def last_artefact_id(self) -> str | None:
        return self._last("artefacts")

    def _last(self, kind: str) -> str | None:
        stream = self.streams[kind]
        with self._talking():
            newest = self.client.xrevrange(stream, max="+", min="-", count=1)
            if newest:
                return newest[0][0].decode()
            trimmed = self.client.get(f"{stream}:trimmed")
        return trimmed.decode() if trimmed else None

    # ---- repair -------------------------------------------------------------------------------
    def quarantine_bad_lines(self) -> list[str]:
        """Copy every malformed stream entry to `events/quarantine/`, then XDEL it; what was moved."""
        moved = []
        with self._talking():
            for kind, model in (("inputs", InputEvent), ("artefacts", ArtefactEvent)):
                stream = self.streams[kind]
                bad = []
                for entry_id, fields in self.client.xrange(stream, min="-", max="+"):
                    try:
                        self._parse(model, stream, entry_id, fields)
                    except InvalidDocument:
                        bad.append((entry_id, fields.get(FIELD, b"")))
                if not bad:
                    continue
                aside = f"events/quarantine/{kind}.redis.{bad[0][0].decode().replace('-', '_')}.jsonl"
                self.fs.write_atomic(aside, b"".join(raw + b"\n" for _, raw in bad))
                self.client.xdel(stream, *[entry_id for entry_id, _ in bad])
                moved += [f"{stream} entry {entry_id.decode()} -> {aside}" for entry_id, _ in bad]
        return moved

    # ---- commit-time archive -------------------------------------------------------------------
    def archive(self, revision: str, input_cursor: str | None, artefact_cursor: str | None) -> None:
        """Archive each stream up to its cursor, then trim; trims only after every archive is written."""
        with self._talking():
            self._archive(revision, input_cursor, artefact_cursor)

    def _archive(self, revision: str, input_cursor: str | None, artefact_cursor: str | None) -> None:
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


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _without_secret(text: str) -> str:
    return " ".join(text.split())[:200]
