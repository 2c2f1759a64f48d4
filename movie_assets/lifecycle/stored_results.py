"""The reusable producer results as of a commit, kept on disk so a new process need not fold the log.

Every plan looks its jobs up in the results the artefact log holds: (job, signature) → outputs. Rather
than have each new process decode the log after the newest checkpoint (10,000 lines at 10,000
artefacts, for a plan that looks up a handful of jobs), each commit stores the index it leaves under
`index/results/<artefact cursor>-<per-job bound>-<format>.msgpack`, each result encoded on its own, and
a plan decodes only the results it finds (see StoredResults).

The file is a derived file (store/derived.py), like the graphs beside it: named by the log position it
stands for (the log only grows, so the same newest id means the same events), and pruned to the live
commit's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

import msgspec

from movie_assets.errors import StorageError
from movie_assets.store.derived import prune_derived, read_derived, write_derived
from movie_assets.store.models import BlobRef
from movie_assets.store.storage import MovieFS

log = logging.getLogger(__name__)

RESULTS_DIR = "index/results"
FORMAT = 3  # bump whenever what a file holds changes: older files are then never read

Outputs = dict[str, BlobRef]
Key = tuple[str, str]  # (job id, signature)


_RESULTS_DECODER = msgspec.msgpack.Decoder(dict[str, msgspec.Raw])
_OUTPUTS_DECODER = msgspec.msgpack.Decoder(Outputs)
_ENCODER = msgspec.msgpack.Encoder()


def _name(key: Key) -> str:
    return f"{key[0]} {key[1]}"  # a signature is hex: the last space ends the job id, whatever it holds


class StoredResults(Mapping[Key, Outputs]):
    """Results read from a stored index, each decoded the first time a lookup names it; `later` (results
    logged after the stored cursor) is merged over them. A lookup that finds nothing decodes nothing: the
    usual answer for a dirty job. Read-only, shared."""

    def __init__(self, results: dict[str, msgspec.Raw], later: Mapping[Key, Outputs] | None = None) -> None:
        self._raw = results
        self._decoded: dict[str, Outputs] = {}
        self._later = dict(later or {})

    @property
    def stored(self) -> dict[str, msgspec.Raw]:
        """The results as read from the stored index, still encoded."""
        return self._raw

    @property
    def later(self) -> dict[Key, Outputs]:
        """The results logged after the stored cursor (never change them)."""
        return self._later

    def _stored(self, name: str) -> Outputs | None:
        found = self._decoded.get(name)
        if found is None:
            raw = self._raw.get(name)
            if raw is None:
                return None
            found = self._decoded[name] = _OUTPUTS_DECODER.decode(raw)
        return found

    def __getitem__(self, key: Key) -> Outputs:
        stored = self._stored(_name(key))
        later = self._later.get(key)
        if stored is None or later is None:
            found = later if stored is None else stored
            if found is None:
                raise KeyError(key)
            return found
        return {**stored, **later}

    def __iter__(self) -> Iterator[Key]:
        """Oldest first, as logged: a result logged later comes after every stored one."""
        for name in self._raw:
            job, _, signature = name.rpartition(" ")
            if (job, signature) not in self._later:
                yield job, signature
        yield from self._later

    def __len__(self) -> int:
        return sum(1 for _ in self)


class ResultsIndex:
    """One movie's stored results indexes, under its `index/results/`."""

    def __init__(self, fs: MovieFS, per_job: int) -> None:
        self.fs = fs
        self.per_job = per_job

    def path(self, cursor: str) -> str:
        return f"{RESULTS_DIR}/{cursor}-{self.per_job}-{FORMAT}.msgpack"

    def listed(self) -> list[str] | None:
        """The stored indexes' paths (one listing), None when they cannot be listed."""
        try:
            return self.fs.list(RESULTS_DIR, ordered=False)
        except StorageError as exc:  # a cache: the log still holds every result
            log.warning("%s/%s: cannot list stored results (%s); reading the log", self.fs.movie_id, RESULTS_DIR, exc)
            return None

    def newest(self, upto: str | None, names: list[str] | None = None) -> str | None:
        """The artefact id of the newest stored index at or before `upto` (the log's last id), among
        `names` if the caller has listed them."""
        limit = _position(upto)
        if limit is None:
            return None
        names = self.listed() if names is None else names
        if names is None:
            return None
        suffix, best = f"-{self.per_job}-{FORMAT}.msgpack", None
        for rel in names:
            name = rel.rsplit("/", 1)[-1]
            at = _position(name[: -len(suffix)]) if name.endswith(suffix) else None
            if at is not None and at <= limit and (best is None or at > best[0]):
                best = (at, name[: -len(suffix)])
        return best[1] if best else None

    def save(self, cursor: str, found: Mapping[Key, Outputs]) -> bool:
        """Store the results as of artefact id `cursor` (create-only); False when they were there already."""
        # {"<job id> <signature>": raw outputs}, oldest first, each decoded when looked up
        results = _ENCODER.encode({_name(key): msgspec.Raw(_ENCODER.encode(out)) for key, out in found.items()})
        return write_derived(self.fs, self.path(cursor), FORMAT, results, key=cursor)

    def load(self, cursor: str) -> dict[str, msgspec.Raw] | None:
        """The stored results as of `cursor`, still encoded; None when absent or not holding."""
        path = self.path(cursor)
        body = read_derived(self.fs, path, FORMAT, key=cursor)
        try:
            return None if body is None else _RESULTS_DECODER.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("%s/%s: ignoring the stored results (%s); reading the log instead", self.fs.movie_id, path, exc)
            return None

    def prune(self, keep: str, names: list[str] | None = None) -> int:
        """Delete every stored index but the one at `keep` (the live commit's cursor), of `names` if the
        caller has listed them; how many went."""
        return prune_derived(self.fs, RESULTS_DIR, {self.path(keep)}, ".msgpack", names)


def _position(event_id: str | None) -> tuple[int, ...] | None:
    """Where an event id sits in its log: `000000000042` (file logs) and `1700000000000-3` (Redis streams)
    both compare as tuples of numbers; None for anything else."""
    parts = event_id.split("-") if event_id else []
    return tuple(int(p) for p in parts) if parts and all(p.isdigit() for p in parts) else None
