"""Recording a remote root's job outputs while the producers go on: the store's round trips leave the
producers' path, and later layers read the outputs they need from memory until they are stored."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from movie_assets.pipeline.models import JobDescriptor, JobResult
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.models import BlobRef


class Recording:
    """Where a remote root's job outputs are stored and logged while the producers go on: `threads` at
    once, and at most as many more produced and waiting, so memory stays bounded."""

    def __init__(self, threads: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads)
        self._room = threading.Semaphore(2 * threads)

    def submit(self, fn: Callable[..., JobResult], *args: Any) -> Future[JobResult]:
        self._room.acquire()  # a producer that is too far ahead waits here

        def run() -> JobResult:
            try:
                return fn(*args)
            finally:
                self._room.release()

        return self.pool.submit(run)

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown()


@dataclass(frozen=True)
class Early:
    """A job whose outputs later layers may read now (`outputs`) while they are stored and logged."""

    outputs: dict[str, BlobRef]
    recorded: Future


def outputs_in_memory(job: JobDescriptor, produced: Any) -> dict[str, tuple[BlobRef, bytes]] | None:
    """The job's outputs as the store will name them, when the producer returned every one as bytes
    (a streamed file, or outputs that do not match the job's, wait for the recording to say so)."""
    found = getattr(produced, "outputs", None)
    if not isinstance(found, dict) or set(found) != {o.name for o in job.outputs}:
        return None
    if not all(isinstance(found[o.name], bytes | bytearray) for o in job.outputs):
        return None
    return {
        o.artefact_id: (
            BlobRef(hash=sha256_bytes(found[o.name]), size=len(found[o.name]), mime_type=o.mime_type),
            bytes(found[o.name]),
        )
        for o in job.outputs
    }


def held_or_stored(held: dict[str, bytes], load: Callable[[BlobRef], bytes], ref: BlobRef) -> bytes:
    data = held.get(ref.hash)
    return data if data is not None else load(ref)
