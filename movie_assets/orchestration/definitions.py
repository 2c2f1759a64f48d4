"""The Definitions builder: blueprints are code (one asset per producer), movies are partitions.

Settings are read once, here, and handed to what needs them; the resources are a view of them."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import dagster as dg

from movie_assets.errors import MovieAssetsError
from movie_assets.orchestration.assets import build_blueprint_assets
from movie_assets.orchestration.keys import input_key, regenerate_job_name
from movie_assets.orchestration.maintenance import maintenance_job, maintenance_schedule
from movie_assets.orchestration.resources import EventLogResource, StorageResource
from movie_assets.orchestration.sensors import Preflight, build_movie_sensor
from movie_assets.orchestration.sync import BlueprintAssets
from movie_assets.pipeline.blueprint import Blueprint, builtin_blueprints, load_blueprint, load_builtin
from movie_assets.pipeline.models import ExecutionPlan
from movie_assets.pipeline.produce import ProduceFn
from movie_assets.settings import Settings

log = logging.getLogger(__name__)


def default_produce(settings: Settings) -> Callable[[], ProduceFn]:
    """Offline producers plus every provider whose credentials are in the environment; with
    MOVIE_ASSETS_OFFLINE=1, jobs of unconfigured providers run offline (recorded in their events)."""

    def produce() -> ProduceFn:
        from movie_assets.producers.registry import registry_from_environ

        return registry_from_environ(os.environ, settings.offline)

    return produce


def producer_preflight(produce_factory: Callable[[], ProduceFn]) -> Callable[[], Preflight]:
    """What would stop a plan's jobs (a provider without credentials), asked of the producer registry.

    A new check per sensor tick, building the registry once, on the tick's first plan: building it reads
    the installed entry points, which once per movie would dominate a first sight of many movies."""

    def for_tick() -> Preflight:
        registry: list[Callable | None] = []

        def check(plan: ExecutionPlan) -> dict[str, list[str]]:
            if not registry:
                registry.append(getattr(produce_factory(), "missing", None))
            missing = registry[0]
            return missing(plan.jobs) if missing else {}

        return check

    return for_tick


def code_blueprints(storage: StorageResource) -> list[Blueprint]:
    """The shipped blueprints plus the ones registered under the root (a registered one wins by id)."""
    found = {bp.meta.id: bp for bp in (load_builtin(name) for name in builtin_blueprints())}
    try:
        registered = storage.context().registered_blueprints()
    except MovieAssetsError as exc:  # an unreachable root must not take the code location down
        log.error("registered blueprints not read: %s", exc)
        registered = {}
    for name, text in registered.items():
        try:
            bp = load_blueprint(text.decode("utf-8"), name=f".blueprints/{name}.yaml")
        except (MovieAssetsError, UnicodeDecodeError) as exc:
            log.error("skipping registered blueprint %s: %s", name, exc)
            continue
        found[bp.meta.id] = bp
    return [found[k] for k in sorted(found)]


# each step in its own process, forked from a server that has imported Dagster and this package once: a
# step starts in a fraction of a fresh interpreter's time (a movie's edit is about five steps in a row)
PRELOADED = ["dagster", "movie_assets.definitions", "movie_assets.producers.offline", "movie_assets.render.cut"]
STEP_PROCESSES = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": PRELOADED}}},
    name="movie_assets_multiprocess",
)


def regenerate_job(entry: BlueprintAssets) -> dg.UnresolvedAssetJobDefinition:
    """`<group>_regenerate`: rebuild one movie from the Launchpad (pick its partition). Its inputs are
    observed first, edits no sensor saw included, so each producer's materialization records every
    input's version and the next edit of one makes it stale; every producer runs its dirty jobs and
    reuses the rest, then the manifest publishes, as `movie-assets regenerate`."""
    return dg.define_asset_job(
        regenerate_job_name(entry.group),
        # the inputs are observable sources, which a group selection leaves out: named one by one
        selection=dg.AssetSelection.groups(entry.group)
        | dg.AssetSelection.assets(*(input_key(entry.group, name) for name in entry.blueprint.inputs)),
        description=f"Regenerate one {entry.blueprint.meta.id} movie: its dirty jobs, then commit.",
    )


def build_definitions(
    settings: Settings | None = None,
    storage: StorageResource | None = None,
    events: EventLogResource | None = None,
    produce_factory: Callable[[], ProduceFn] | None = None,
    sensor_interval: int | None = None,
    executor: dg.ExecutorDefinition | None = None,
) -> dg.Definitions:
    """Definitions for every blueprint (shipped and registered); movies are partitions found by the sensor.

    Nothing here lists the movies, so loading is flat in their number and a new movie needs no reload.
    `settings` defaults to the environment's; `storage` and `events` to views of them."""
    settings = settings or Settings.load()
    storage = storage or StorageResource.from_settings(settings)
    events = events or EventLogResource.from_settings(settings)
    produce_factory = produce_factory or default_produce(settings)
    catalogue = {bp.meta.id: BlueprintAssets.of(bp) for bp in code_blueprints(storage)}
    assets: list = []
    jobs: list = [maintenance_job]
    for entry in catalogue.values():
        assets += build_blueprint_assets(entry.blueprint, produce_factory, settings.viewer_url)
        jobs.append(regenerate_job(entry))
    interval = sensor_interval or settings.sensor_interval
    sensor = build_movie_sensor(catalogue, interval, producer_preflight(produce_factory), settings.viewer_url)
    # in-process suits a laptop (a step costs no new interpreter); the cloud mode keeps multiprocess
    default_executor = dg.in_process_executor if settings.dagster_executor == "in_process" else STEP_PROCESSES
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        schedules=[maintenance_schedule],
        sensors=[sensor],
        executor=executor or default_executor,
        resources={"storage": storage, "events": events},
    )
