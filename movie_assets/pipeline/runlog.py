"""The human-readable log of a run: `logs/<revision>.log` under the movie.

Each run of a plan adds one section: when it started, the jobs the plan holds and why each runs, then
one line per job as it finished (ran, reused, failed or skipped; provider and model; seconds; cost;
the error of a failure) and a closing tally. A retried revision gets a section per attempt, so the log
tells the whole story of a revision. The events and metrics stay the truth; this is for people.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field

from movie_assets.errors import MovieAssetsError
from movie_assets.pipeline.models import ExecutionPlan, JobResult
from movie_assets.store.storage import MovieFS

LOGS_DIR = "logs"
STATUS = {"succeeded": "ran", "reused": "reused", "failed": "FAILED", "skipped": "skipped"}
log = logging.getLogger(__name__)


def log_path(revision: str) -> str:
    return f"{LOGS_DIR}/{revision}.log"


def _stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


@dataclass
class RunLog:
    """Lines of one run, written once the run ends (one read and one write, also on remote roots)."""

    plan: ExecutionPlan
    subset: bool = False  # a Dagster step runs one producer's jobs
    started: float = field(default_factory=time.time)
    lines: list[str] = field(default_factory=list)
    tally: dict[str, int] = field(default_factory=dict)
    cost: float = 0.0

    def __post_init__(self) -> None:
        self._jobs = {job.job_id: job for job in self.plan.jobs}

    def job(self, result: JobResult) -> None:
        """One finished job, as it finished."""
        descriptor = self._jobs.get(result.job_id)
        who = ""
        if descriptor is not None:
            who = descriptor.provider + (f"/{descriptor.model}" if descriptor.model else "")
        status = STATUS.get(result.status, result.status)
        self.tally[status] = self.tally.get(status, 0) + 1
        self.cost += result.cost
        line = f"  {time.strftime('%H:%M:%S', time.gmtime())}  {status:<7}  {result.job_id}  {who}"
        if result.status == "succeeded":
            line += f"  {result.duration_s:.2f} s  ${result.cost:.4f}"
        if result.error:
            line += f"  error: {' '.join(result.error.split())[:500]}"
        self.lines.append(line.rstrip())

    def text(self) -> str:
        plan = self.plan
        what = "a Dagster step" if self.subset else "run"
        head = [f"== {plan.revision} {what} started {_stamp(self.started)} UTC ({len(plan.jobs)} jobs planned)"]
        if not self.subset:
            head += [f"  plan  {j.job_id}: {'; '.join(j.reasons) or 'new'}" for j in plan.jobs]
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.tally.items())) or "nothing ran"
        seconds = time.time() - self.started
        tail = f"== finished {_stamp(time.time())} UTC: {counts}; ${self.cost:.4f}; {seconds:.1f} s"
        return "\n".join([*head, *self.lines, tail]) + "\n"

    def look(self, fs: MovieFS) -> None:
        """Read the revision's log now (a remote root does, beside other reads), so that its write at the
        end starts from the version read: on S3 one conditional PUT rather than a read and a write."""
        with contextlib.suppress(MovieAssetsError, OSError):
            fs.read(log_path(self.plan.revision))

    def write(self, fs: MovieFS) -> None:
        """Add this run's section to the revision's log; a storage error is logged, never fatal."""
        section = self.text().encode("utf-8")
        try:
            fs.update(log_path(self.plan.revision), lambda old: (old or b"") + section)
        except (MovieAssetsError, OSError) as exc:
            log.warning("%s: the run log of %s was not written: %s", fs.movie_id, self.plan.revision, exc)


def logged_revisions(fs: MovieFS) -> list[str]:
    """The revisions that have a log, oldest first."""
    return [name[: -len(".log")] for name in fs.file_names(LOGS_DIR) if name.endswith(".log")]
