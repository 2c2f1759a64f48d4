"""What a plan will probably cost, from what the same jobs (else the same producers) cost before.

No price table is involved: the figure is this movie's own history, so it is only as good as that
history (a job that never ran, of a producer that never ran, counts as unknown, not as free).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from movie_assets.pipeline.models import ExecutionPlan
from movie_assets.store.events import EventLog


@dataclass
class CostEstimate:
    total: float = 0.0
    per_job: dict[str, float] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # jobs with no earlier run to go by


def estimate_cost(plan: ExecutionPlan, events: EventLog) -> CostEstimate:
    """Sum, over the plan's jobs, of the job's latest successful cost (else its producer's mean)."""
    wanted = {job.job_id: job.producer for job in plan.jobs}
    by_job: dict[str, float] = {}
    by_producer: dict[str, list[float]] = {}
    per_run: dict[tuple[str, str], float] = {}  # (job, signature) -> cost of that run, all its outputs
    producer_of: dict[tuple[str, str], str] = {}
    for event in events.stream_artefacts() if wanted else ():
        if event.status == "succeeded":
            key = (event.job_id, event.inputs_hash)
            per_run[key] = per_run.get(key, 0.0) + event.cost
            producer_of[key] = event.producer
            by_job[event.job_id] = per_run[key]  # the latest run of the job wins
    for key, cost in per_run.items():
        by_producer.setdefault(producer_of[key], []).append(cost)
    estimate = CostEstimate()
    for job_id, producer in wanted.items():
        if job_id in by_job:
            cost = by_job[job_id]
        elif by_producer.get(producer):
            cost = sum(by_producer[producer]) / len(by_producer[producer])
        else:
            estimate.unknown.append(job_id)
            continue
        estimate.per_job[job_id] = cost
        estimate.total += cost
    return estimate
