"""Test helpers: a counting wrapper around the real producers, small blueprint builders, and the command
line run in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterable

from movie_assets.pipeline.produce import ProduceRequest, ProduceResult
from movie_assets.producers.registry import default_registry


class CountingProduce:
    """The real offline producers, counting calls per job and optionally failing chosen jobs once."""

    def __init__(self, fail_once: set[str] | None = None, fail_always: set[str] | None = None) -> None:
        self.inner = default_registry()
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


def modules_a_command_loads(args: list[str], watched: Iterable[str]) -> tuple[str, list[str]]:
    """Run `movie-assets *args` (the app, as the entry point runs it) in a new interpreter; what it
    printed, and which of the `watched` modules it had imported by the end (it must succeed)."""
    probe = (
        "import sys\n"
        "from movie_assets.cli import app\n"
        f"sys.argv = ['movie-assets', *{list(args)!r}]\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        f"print('LOADED', ' '.join(m for m in {tuple(watched)!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    printed, _, loaded = out.rpartition("LOADED")
    return printed, loaded.split()


def comparable(plan) -> dict:
    """A plan's fields, but for when it was made."""
    return {k: v for k, v in plan.to_builtins().items() if k != "created_at"}


def full_pass(store) -> dict:
    """The reference plan: every job decided, every result read from the whole artefact log; no graph
    index, baseline or stored results consulted."""
    from movie_assets.pipeline.planner import Planner
    from movie_assets.pipeline.signature import SucceededIndex

    manifest, digest = store.current()
    present = store.blobs.present()
    plan = Planner().compute_plan(
        store.movie_id,
        manifest,
        digest,
        store.events,
        store.blueprint(),
        succeeded=SucceededIndex(store.events.stream_artefacts(), present.__contains__),
        blob_exists=present.__contains__,
    )
    return comparable(plan)


def film_info(data: bytes):
    """What ffmpeg reads of a final cut's bytes: size, fps, duration, sample rate, channels."""
    import tempfile

    from movie_assets.render.ffmpeg import probe

    with tempfile.NamedTemporaryFile(suffix=".mp4") as handle:
        handle.write(data)
        handle.flush()
        return probe(handle.name)


def frozen_seconds(data: bytes) -> float:
    """Seconds of a film's picture that ffmpeg's freezedetect (noise -60 dB, 0.5 s) finds standing still."""
    import re
    import tempfile

    from movie_assets.render.ffmpeg import run

    with tempfile.NamedTemporaryFile(suffix=".mp4") as handle:
        handle.write(data)
        handle.flush()
        done = run(["-i", handle.name, "-map", "0:v", "-vf", "freezedetect=n=-60dB:d=0.5", "-f", "null", "-"], "freeze")
    text = done.stderr.decode("utf-8", "replace")
    return sum(float(s) for s in re.findall(r"freeze_duration: ([\d.]+)", text))


def loudness_of(data: bytes, suffix: str = ".mp4") -> dict:
    """EBU R128 integrated loudness and true peak of a final output's bytes."""
    import tempfile

    from movie_assets.render.audio import loudness

    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        handle.write(data)
        handle.flush()
        return loudness(handle.name)


# for tests about the store, the planner or a face rather than the picture: a small, quick film
QUICK_FILM = {"Resolution": "480p", "Fps": 12, "Transition": 0, "Duration": 5}  # short lines: short films


def quick(blueprint, inputs: dict) -> dict:
    """`inputs` plus the quick-film settings this blueprint takes (the given ones win)."""
    names = set(blueprint.inputs) | {f"{p}.model" for p in blueprint.producers}
    given = {k: v for k, v in inputs.items() if k in names or not k.endswith(".model")}
    return {**{k: v for k, v in QUICK_FILM.items() if k in names}, **given}
