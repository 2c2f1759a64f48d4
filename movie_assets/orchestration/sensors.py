"""The input-log sensor (plan on new edits, request exactly the dirty assets) and periodic schedules."""

import json
from collections.abc import Callable
from typing import Any

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from movie_assets.movie import MovieStore
from movie_assets.orchestration.keys import (
    BASE_HASH_TAG,
    DIRTY_TAG,
    MOVIE_TAG,
    NO_BASE,
    REVISION_TAG,
    input_key,
    job_key,
    manifest_key,
    regenerate_job_name,
)
from movie_assets.orchestration.resources import EventLogResource, StorageResource, movie_store
from movie_assets.pipeline.blueprint.inputs import normalise_edits
from movie_assets.pipeline.models import ExecutionPlan
from movie_assets.producers.registry import describe_missing


def input_observations(store: MovieStore, keys: set[str] | None, known: set[dg.AssetKey]) -> list:
    """AssetObservations carrying the input hash as data version, for `keys` (None = every input)."""
    _, entries = store.graph()
    out = []
    for key, entry in sorted(entries.items()):
        asset_key = input_key(store.movie_id, key)
        if (keys is None or key in keys) and asset_key in known:
            out.append(dg.AssetObservation(asset_key=asset_key, tags={DATA_VERSION_TAG: entry.hash}))
    return out


def observe_inputs(instance: dg.DagsterInstance, store: MovieStore, known: set[dg.AssetKey]) -> int:
    """Report every input's current hash to the instance (what a sensor tick does on first sight)."""
    observations = input_observations(store, None, known)
    for observation in observations:
        instance.report_runless_asset_event(observation)
    return len(observations)


def run_request_for(plan: ExecutionPlan, known: set[dg.AssetKey], run_key: str | None) -> dg.RunRequest | None:
    """A run of exactly the plan's dirty assets plus the manifest; None if an asset is not defined yet."""
    keys = [job_key(plan.movie_id, job.path) for job in plan.jobs]
    if any(k not in known for k in keys):
        return None
    why = "; ".join(f"{job.job_id}: {', '.join(job.reasons)}" for job in plan.jobs)
    return dg.RunRequest(
        run_key=run_key,
        job_name=regenerate_job_name(plan.movie_id),
        asset_selection=[*keys, manifest_key(plan.movie_id)],
        tags={
            MOVIE_TAG: plan.movie_id,
            REVISION_TAG: str(plan.revision),
            BASE_HASH_TAG: plan.manifest_base_hash or NO_BASE,
            DIRTY_TAG: why[:4000] or "reuse only",
        },
    )


Preflight = Callable[[ExecutionPlan], dict[str, list[str]]]


def _no_preflight(plan: ExecutionPlan) -> dict[str, list[str]]:
    return {}


def blocked(plan: ExecutionPlan, preflight: Preflight) -> str | None:
    """Why the plan cannot run (e.g. a provider without credentials), or None."""
    problems = preflight(plan)
    if not problems:
        return None
    return f"{plan.movie_id}: {plan.revision} not requested: {'; '.join(describe_missing(problems, limit=3))}"


def build_input_sensor(
    movie_ids: list[str],
    known: set[dg.AssetKey],
    jobs: list[Any],
    interval: int = 15,
    preflight: Preflight = _no_preflight,
) -> dg.SensorDefinition:
    @dg.sensor(
        name="input_log_sensor",
        jobs=jobs,
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Tails each movie's inputs.log; plans on new edits and requests exactly the dirty assets.",
    )
    def _sensor(context: dg.SensorEvaluationContext, storage: StorageResource, events: EventLogResource):
        cursor: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        requests, observations, skipped = [], [], []
        for movie_id in movie_ids:
            store = movie_store(storage, events, movie_id)
            last = cursor.get(movie_id)
            new = list(store.events.stream_inputs(after=last))
            if not new:
                continue
            blueprint = store.blueprint()
            touched = set()
            for event in new:
                touched.update(normalise_edits(blueprint, {event.key: event.value}))
            observations += input_observations(store, None if last is None else touched, known)
            plan = store.plan(save=True)
            if plan.has_changes():
                if why := blocked(plan, preflight):
                    skipped.append(why)
                    continue  # keep the cursor: planned again once the provider is configured
                request = run_request_for(plan, known, run_key=f"{movie_id}:{plan.revision}:{new[-1].id}")
                if request is None:
                    skipped.append(f"{movie_id}: new assets in {plan.revision}; reload the code location")
                    continue  # keep the cursor so the edit is planned again after a reload
                requests.append(request)
            cursor[movie_id] = new[-1].id
        if skipped:
            context.log.warning("; ".join(skipped))
        return dg.SensorResult(
            run_requests=requests,
            asset_events=observations,
            cursor=json.dumps(cursor, sort_keys=True),
            skip_reason=None if requests else ("; ".join(skipped) or "no new input events"),
        )

    return _sensor


def build_schedule(movie_id: str, known: set[dg.AssetKey], job: Any, preflight: Preflight = _no_preflight):
    @dg.schedule(
        name=f"{job.name}_hourly",
        job=job,
        cron_schedule="0 * * * *",
        description=f"Periodic regeneration of {movie_id}: plans and runs whatever is dirty.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext, storage: StorageResource, events: EventLogResource):
        plan = movie_store(storage, events, movie_id).plan(save=True)
        if not plan.has_changes():
            return dg.SkipReason(f"{movie_id} is up to date at {plan.base_revision}")
        if why := blocked(plan, preflight):
            return dg.SkipReason(why)
        request = run_request_for(plan, known, run_key=None)
        return request or dg.SkipReason(f"{movie_id}: new assets in {plan.revision}; reload the code location")

    return _schedule
