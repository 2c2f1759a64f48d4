"""Dagster face of movie_assets: assets per producer job, CAS IO manager, sensor, schedules, checks."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable

import dagster as dg

from movie_assets.movie import MovieStore
from movie_assets.orchestration.assets import build_movie_assets
from movie_assets.orchestration.io_manager import CasIOManager
from movie_assets.orchestration.keys import group_name, regenerate_job_name
from movie_assets.orchestration.resources import EventLogResource, StorageResource
from movie_assets.orchestration.sensors import build_input_sensor, build_schedule
from movie_assets.pipeline.models import ExecutionPlan
from movie_assets.pipeline.produce import ProduceFn
from movie_assets.settings import Settings

log = logging.getLogger(__name__)


def resources_from_env() -> tuple[StorageResource, EventLogResource]:
    """Storage and event log from the one Settings object every face reads (see movie_assets.settings)."""
    settings = Settings.load()
    storage = StorageResource(url=settings.root, options={k: str(v) for k, v in settings.storage_options.items()})
    events = EventLogResource(
        backend=settings.event_log,
        redis_url=settings.redis_url,
        redis_prefix=settings.redis_prefix,
        redis_durability=settings.redis_durability,
    )
    return storage, events


def default_produce() -> ProduceFn:
    """Offline producers plus every provider whose credentials are in the environment; with
    MOVIE_ASSETS_OFFLINE=1, jobs of unconfigured providers run offline (recorded in their events)."""
    from movie_assets.producers.registry import registry_from_environ

    return registry_from_environ(os.environ, Settings.load().offline)


def producer_preflight(produce_factory: Callable[[], ProduceFn]) -> Callable[[ExecutionPlan], dict[str, list[str]]]:
    """What would stop a plan's jobs (a provider without credentials), asked of the producer registry."""

    def check(plan: ExecutionPlan) -> dict[str, list[str]]:
        missing = getattr(produce_factory(), "missing", None)
        return missing(plan.jobs) if missing else {}

    return check


def build_definitions(
    storage: StorageResource | None = None,
    events: EventLogResource | None = None,
    produce_factory: Callable[[], ProduceFn] = default_produce,
    sensor_interval: int = 15,
) -> dg.Definitions:
    """Definitions for every movie under the storage root (default: configured from the environment)."""
    # observable source assets are a beta API in dagster 1.13 and warn once per asset built, which
    # floods every load of the code location with hundreds of identical lines; the API is pinned.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        return _build_definitions(storage, events, produce_factory, sensor_interval)


def _build_definitions(
    storage: StorageResource | None,
    events: EventLogResource | None,
    produce_factory: Callable[[], ProduceFn],
    sensor_interval: int,
) -> dg.Definitions:
    env_storage, env_events = resources_from_env()
    storage = storage or env_storage
    events = events or env_events
    context = storage.context()
    assets: list = []
    checks: list = []
    jobs: list = []
    schedules: list = []
    movies: list[str] = []
    for movie_id in context.list_movies():
        store = MovieStore(context, movie_id, events.for_movie(context, movie_id))
        if not store.exists():
            continue
        try:
            graph, _ = store.graph()
            movie_assets, movie_checks = build_movie_assets(movie_id, graph, produce_factory)
        except Exception as exc:  # one broken movie must not take the whole code location down
            log.error("skipping movie %s: %s", movie_id, exc)
            continue
        movies.append(movie_id)
        assets += movie_assets
        checks += movie_checks
        job = dg.define_asset_job(
            regenerate_job_name(movie_id),
            selection=dg.AssetSelection.groups(group_name(movie_id)),
            description=f"Materialise {movie_id}'s producers and publish the next revision",
        )
        jobs.append(job)
    known = {key for a in assets if isinstance(a, dg.AssetsDefinition) for key in a.keys}
    known |= {a.key for a in assets if isinstance(a, dg.SourceAsset)}
    preflight = producer_preflight(produce_factory)
    for movie_id, job in zip(movies, jobs, strict=True):
        schedules.append(build_schedule(movie_id, known, job, preflight))
    sensors = [build_input_sensor(movies, known, jobs, sensor_interval, preflight)] if movies else []
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=jobs,
        sensors=sensors,
        schedules=schedules,
        resources={
            "storage": storage,
            "events": events,
            "cas_io_manager": CasIOManager(storage=storage, events=events),
        },
    )


__all__ = ["CasIOManager", "EventLogResource", "StorageResource", "build_definitions"]
