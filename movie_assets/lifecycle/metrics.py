"""Per-revision metrics aggregated from artefact events: cost, retries, durations, per producer."""

from __future__ import annotations

from collections import defaultdict

from movie_assets.errors import NotFound
from movie_assets.store.events import EventLog
from movie_assets.store.models import ArtefactEvent, Manifest, Record, RevisionId, as_revisions
from movie_assets.store.storage import MovieFS


class ProducerMetrics(Record, kw_only=True):
    attempts: int = 0
    succeeded: int = 0
    failed: int = 0
    cost: float = 0.0
    duration_s: float = 0.0


class RevisionMetrics(Record, kw_only=True):
    """What producing one revision took, counting every attempt (failed runs for it included)."""

    movie_id: str
    revision: RevisionId
    jobs: int = 0
    attempts: int = 0
    failed: int = 0
    retries: int = 0
    reused: int = 0
    cost: float = 0.0
    duration_s: float = 0.0
    max_job_duration_s: float = 0.0
    loudness: dict[str, float] = {}  # the final cut's measured loudness, when this revision made it
    producers: dict[str, ProducerMetrics] = {}

    def __post_init__(self) -> None:
        as_revisions(self, "revision")


def metrics_path(revision: RevisionId | str) -> str:
    return f"metrics/{RevisionId(revision)}.json"


def aggregate(movie_id: str, revision: RevisionId, events: list[ArtefactEvent]) -> RevisionMetrics:
    """Fold the events logged for one revision. An attempt is one failure or one success of a job
    (a multi-output success logs one event per artefact with a share of the cost); retries are
    attempts beyond the first per job; reuses cost nothing and are counted apart."""
    producers: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    successes: set[tuple[str, str]] = set()
    reused: set[str] = set()
    attempts: dict[str, int] = defaultdict(int)
    cost = duration = longest = 0.0
    failed = 0
    loudness: dict[str, float] = {}
    for event in events:
        if event.revision != revision:
            continue
        producer = producers[event.producer]
        if event.status == "skipped":
            if event.output is not None:
                reused.add(event.job_id)
            continue
        producer["cost"] += event.cost
        cost += event.cost
        if event.status == "succeeded":
            key = (event.job_id, event.inputs_hash)
            if key in successes:
                continue  # another artefact of the same success
            successes.add(key)
            producer["succeeded"] += 1
            measured = event.diagnostics.get("loudness")
            if isinstance(measured, dict):  # the final cut's mastered sound (render/audio.py)
                loudness = {k: float(v) for k, v in measured.items() if isinstance(v, int | float)}
        else:
            producer["failed"] += 1
            failed += 1
        attempts[event.job_id] += 1
        producer["attempts"] += 1
        producer["duration_s"] += event.duration_s
        duration += event.duration_s
        longest = max(longest, event.duration_s)
    total = sum(attempts.values())
    return RevisionMetrics(
        movie_id=movie_id,
        revision=revision,
        jobs=len(attempts),
        attempts=total,
        failed=failed,
        retries=total - len(attempts),
        reused=len(reused - set(attempts)),
        cost=round(cost, 6),
        duration_s=round(duration, 6),
        max_job_duration_s=longest,
        loudness=loudness,
        producers={
            name: ProducerMetrics(
                attempts=int(v["attempts"]),
                succeeded=int(v["succeeded"]),
                failed=int(v["failed"]),
                cost=round(v["cost"], 6),
                duration_s=round(v["duration_s"], 6),
            )
            for name, v in sorted(producers.items())
        },
    )


def record_metrics(
    fs: MovieFS,
    manifest: Manifest,
    previous_cursor: str | None,
    events: EventLog,
    run_revision: str | None = None,
) -> RevisionMetrics:
    """Aggregate the events logged for `manifest.revision` since the previous revision; write metrics/<rev>.json."""
    # the manifest's artefact cursor is the one its plan read, so the run's own events come after it;
    # every event for this revision lies after the previous revision's cursor
    window = list(events.stream_artefacts(after=previous_cursor))
    # runs log under the revision they planned; a commit that had to skip a number publishes under another
    metrics = aggregate(manifest.movie_id, RevisionId(run_revision or manifest.revision), window)
    metrics = metrics.replace(revision=manifest.revision)
    fs.write_atomic(metrics_path(manifest.revision), metrics.canonical())
    return metrics


def load_metrics(fs: MovieFS, revision: RevisionId | str) -> RevisionMetrics | None:
    rel = metrics_path(revision)
    try:
        return RevisionMetrics.parse_document(fs.read(rel), f"{fs.movie_id}/{rel}")
    except NotFound:
        return None
