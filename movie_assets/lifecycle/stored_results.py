"""The reusable producer results as of a commit, kept on disk so a new process need not fold the log.

Every plan looks its jobs up in the results the artefact log holds: (job, signature) → outputs. A new
process built that index by decoding the log after the newest checkpoint, 10,000 lines at 10,000
artefacts: ~70 ms of a ~0.5 s `plan` that then looks up a handful of jobs. Each commit now stores the
index it leaves under `index/results/<artefact cursor>-<per-job bound>-<format>.msgpack`, one
msgpack blob per job, and a plan decodes only the jobs it asks about (see StoredResults).

The file is derived data, like the graphs beside it: named by the log position it stands for (the log
only grows, so the same newest id means the same events), checked against its own sha256 when read,
ignored with a warning when it does not hold, written create-only, and pruned to the live commit's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping

import msgspec

from movie_assets.errors import NotFound, StorageError
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.models import BlobRef
from movie_assets.store.storage import MovieFS

log = logging.getLogger(__name__)

RESULTS_DIR = "index/results"
FORMAT = 1

Outputs = dict[str, BlobRef]
Key = tuple[str, str]  # (job id, signature)


class _Stored(msgspec.Struct):
    format: int
    cursor: str
    jobs: msgspec.Raw  # {job id: raw {signature: outputs}}, each job's entry decoded when asked for
    jobs_sha256: str


_DECODER = msgspec.msgpack.Decoder(_Stored)
_JOBS_DECODER = msgspec.msgpack.Decoder(dict[str, msgspec.Raw])
_JOB_DECODER = msgspec.msgpack.Decoder(dict[str, Outputs])
_ENCODER = msgspec.msgpack.Encoder()


class StoredResults(Mapping[Key, Outputs]):
    """Results read from a stored index, a job's entry decoded the first time a lookup names the job;
    `later` (results logged after the stored cursor) is merged over them. Read-only, shared."""

    def __init__(self, jobs: dict[str, msgspec.Raw], later: Mapping[Key, Outputs] | None = None) -> None:
        self._raw = jobs
        self._decoded: dict[str, dict[str, Outputs]] = {}
        self._later = dict(later or {})

    def _job(self, job_id: str) -> dict[str, Outputs]:
        found = self._decoded.get(job_id)
        if found is None:
            raw = self._raw.get(job_id)
            found = self._decoded[job_id] = _JOB_DECODER.decode(raw) if raw is not None else {}
        return found

    def __getitem__(self, key: Key) -> Outputs:
        stored = self._job(key[0]).get(key[1])
        later = self._later.get(key)
        if stored is None or later is None:
            found = later if stored is None else stored
            if found is None:
                raise KeyError(key)
            return found
        return {**stored, **later}

    def __iter__(self) -> Iterator[Key]:
        """Oldest first, as logged: a result logged later comes after every stored one."""
        for job in self._raw:
            yield from ((job, signature) for signature in self._job(job) if (job, signature) not in self._later)
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

    def newest(self, upto: str | None) -> str | None:
        """The artefact id of the newest stored index at or before `upto` (the log's last id)."""
        limit = _position(upto)
        suffix, best = f"-{self.per_job}-{FORMAT}.msgpack", None
        for rel in self.fs.list(RESULTS_DIR, ordered=False) if limit is not None else ():
            name = rel.rsplit("/", 1)[-1]
            at = _position(name[: -len(suffix)]) if name.endswith(suffix) else None
            if at is not None and at <= limit and (best is None or at > best[0]):
                best = (at, name[: -len(suffix)])
        return best[1] if best else None

    def save(self, cursor: str, found: Mapping[Key, Outputs]) -> bool:
        """Store the results as of artefact id `cursor` (create-only); False when they were there already."""
        path = self.path(cursor)
        if self.fs.exists(path):
            return False
        by_job: dict[str, dict[str, Outputs]] = {}
        for (job_id, signature), outputs in found.items():
            by_job.setdefault(job_id, {})[signature] = outputs
        jobs = _ENCODER.encode({job: msgspec.Raw(_ENCODER.encode(entry)) for job, entry in by_job.items()})
        stored = _Stored(FORMAT, cursor, msgspec.Raw(jobs), sha256_bytes(jobs))
        return self.fs.write_if_absent(path, _ENCODER.encode(stored))

    def load(self, cursor: str) -> dict[str, msgspec.Raw] | None:
        """The stored results as of `cursor`, by job, still encoded; None when absent or not holding."""
        path = self.path(cursor)
        try:
            stored = _DECODER.decode(self.fs.read(path))
            if stored.format != FORMAT or stored.cursor != cursor:
                raise ValueError(f"holds format {stored.format} at {stored.cursor}")
            if sha256_bytes(stored.jobs) != stored.jobs_sha256:
                raise ValueError("is damaged")
            return _JOBS_DECODER.decode(stored.jobs)
        except NotFound:
            return None
        except (StorageError, msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
            log.warning("%s/%s: ignoring the stored results (%s); reading the log instead", self.fs.movie_id, path, exc)
            return None

    def prune(self, keep: str) -> int:
        """Delete every stored index but the one at `keep` (the live commit's cursor); how many went."""
        removed = 0
        for rel in self.fs.list(RESULTS_DIR, ordered=False):
            if rel != self.path(keep) and rel.endswith(".msgpack"):
                with contextlib.suppress(NotFound):  # another commit pruned it first
                    self.fs.delete(rel)
                    removed += 1
        return removed


def _position(event_id: str | None) -> tuple[int, ...] | None:
    """Where an event id sits in its log: `000000000042` (file logs) and `1700000000000-3` (Redis streams)
    both compare as tuples of numbers; None for anything else."""
    parts = event_id.split("-") if event_id else []
    return tuple(int(p) for p in parts) if parts and all(p.isdigit() for p in parts) else None
