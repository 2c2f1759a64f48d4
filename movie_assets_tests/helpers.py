"""Test helpers: a counting wrapper around the real producers, and small blueprint builders."""

from __future__ import annotations

import threading
from collections import Counter

from movie_assets.pipeline.produce import ProduceRequest, ProduceResult
from movie_assets.producers.registry import make_produce


class CountingProduce:
    """The real offline producers, counting calls per job and optionally failing chosen jobs once."""

    def __init__(self, fail_once: set[str] | None = None, fail_always: set[str] | None = None) -> None:
        self.inner = make_produce()
        self.calls: Counter[str] = Counter()
        self.fail_once = set(fail_once or ())
        self.fail_always = set(fail_always or ())
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, request: ProduceRequest) -> ProduceResult:
        job_id = request.job.job_id
        with self._lock:
            self.calls[job_id] += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if job_id in self.fail_always or job_id in self.fail_once:
                self.fail_once.discard(job_id)
                raise RuntimeError(f"simulated provider outage for {job_id}")
            return self.inner(request)
        finally:
            with self._lock:
                self.active -= 1

    def reset(self) -> None:
        self.calls.clear()
