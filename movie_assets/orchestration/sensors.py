"""The one sensor: discovers movies, mirrors the store into Dagster, and requests exactly what is dirty.

Its cursor keeps, per movie, a fingerprint (live manifest hash + last input event id). An idle tick is
one listing of the root and one cheap fingerprint per movie; only a movie whose fingerprint moved is
planned, and at most `batch` of them per tick, so a first sight of thousands of movies spreads over
ticks instead of timing out one.
"""

import json
from collections.abc import Callable

import dagster as dg

from movie_assets.errors import MovieAssetsError
from movie_assets.movie import MovieStore
from movie_assets.orchestration.keys import (
    BASE_HASH_TAG,
    DIRTY_TAG,
    MOVIE_TAG,
    NO_BASE,
    REVISION_TAG,
    loop_partitions,
    manifest_key,
    movies_partitions,
    partition_key,
    producer_key,
)
from movie_assets.orchestration.private import AssetGraphSubset, AssetKeyPartitionKey
from movie_assets.orchestration.resources import EventLogResource, StorageResource, settings_of
from movie_assets.orchestration.sync import BlueprintAssets, StoreSync, pending_inputs
from movie_assets.pipeline.models import ExecutionPlan
from movie_assets.producers.registry import describe_missing
from movie_assets.store.models import RevisionId

Preflight = Callable[[ExecutionPlan], dict[str, list[str]]]


def _no_preflight(plan: ExecutionPlan) -> dict[str, list[str]]:
    return {}


def _no_preflight_for_tick() -> Preflight:
    return _no_preflight


def blocked(plan: ExecutionPlan, preflight: Preflight) -> str | None:
    """Why the plan cannot run (e.g. a provider without credentials), or None."""
    problems = preflight(plan)
    if not problems:
        return None
    return f"{plan.movie_id}: {plan.revision} not requested: {'; '.join(describe_missing(problems, limit=3))}"


def dirty_partitions(plan: ExecutionPlan, assets: BlueprintAssets) -> set[AssetKeyPartitionKey]:
    """The plan's dirty jobs as (asset, partition)s, plus the movie's manifest partition."""
    out = {AssetKeyPartitionKey(manifest_key(assets.group), plan.movie_id)}
    for job in plan.jobs:
        loop = assets.shape[job.producer].loop
        where = partition_key(plan.movie_id, loop, job.indices.get(loop) if loop else None)
        out.add(AssetKeyPartitionKey(producer_key(assets.group, job.producer), where))
    return out


def backfill_request(plan: ExecutionPlan, assets: BlueprintAssets, asset_graph) -> dg.RunRequest:
    """One backfill per movie: Dagster orders the partitions (segments before the timeline)."""
    subset = AssetGraphSubset.from_asset_partition_set(dirty_partitions(plan, assets), asset_graph)
    why = "; ".join(f"{job.job_id}: {', '.join(job.reasons)}" for job in plan.jobs)
    return dg.RunRequest.for_asset_graph_subset(
        subset,
        tags={
            MOVIE_TAG: plan.movie_id,
            REVISION_TAG: str(plan.revision),
            BASE_HASH_TAG: plan.manifest_base_hash or NO_BASE,
            DIRTY_TAG: why[:4000] or "reuse only",
        },
    )


class MovieTick:
    """One sensor evaluation over the store."""

    def __init__(self, context, storage: StorageResource, events: EventLogResource, catalogue, preflight, viewer):
        self.context = context
        self.instance: dg.DagsterInstance = context.instance
        self.storage = storage.context()
        self.settings = settings_of(storage, events)
        self.catalogue: dict[str, BlueprintAssets] = catalogue
        self.preflight = preflight
        self.viewer = viewer
        self.state = json.loads(context.cursor) if context.cursor else {}
        self.movies: dict[str, dict] = self.state.setdefault("movies", {})
        self.loops: dict[str, int] = self.state.setdefault("loops", {})
        self.requests: list[dg.RunRequest] = []
        self.notes: list[str] = []

    def run(self, batch: int) -> dg.SensorResult:
        listed = self.storage.list_movies()
        self._forget(set(self.movies) - set(listed))
        worked = 0
        for movie_id in listed:
            store = self.settings.movie_store(movie_id, self.storage)
            try:
                fingerprint = store.fingerprint()
                if self.movies.get(movie_id, {}).get("fp") == fingerprint:
                    continue
                if worked >= batch:
                    self.notes.append("more changed movies than one tick handles; the rest next tick")
                    break
                worked += 1
                self._movie(store, fingerprint)
            except MovieAssetsError as exc:  # one broken movie must not stop the others
                self.notes.append(f"{movie_id}: {exc}")
        if self.notes:
            self.context.log.warning("; ".join(self.notes))
        return dg.SensorResult(
            run_requests=self.requests,
            cursor=json.dumps(self.state, sort_keys=True, separators=(",", ":")),
            skip_reason=None if self.requests else ("; ".join(self.notes)[:1000] or "no movie changed"),
        )

    def _forget(self, gone: set[str]) -> None:
        for movie_id in gone:
            group = self.movies.pop(movie_id).get("group")
            name = movies_partitions(group).name if group else None
            if name and self.instance.has_dynamic_partition(name, movie_id):
                self.instance.delete_dynamic_partition(name, movie_id)

    def _movie(self, store: MovieStore, fingerprint: str) -> None:
        movie_id = store.movie_id
        bp_id = store.blueprint().meta.id
        assets = self.catalogue.get(bp_id)
        seen = self.movies.get(movie_id, {})
        if assets is None:
            self.notes.append(f"{movie_id}: blueprint {bp_id!r} is not in this code location; register it")
            self.movies[movie_id] = {"fp": fingerprint}
            return
        partitions = movies_partitions(assets.group).name
        if not self.instance.has_dynamic_partition(partitions, movie_id):
            self.instance.add_dynamic_partitions(partitions, [movie_id])
        sync = StoreSync(self.instance, assets, self.viewer)
        manifest, digest = store.current()
        if digest is not None and digest != seen.get("head") and not sync.committed_by_dagster(movie_id, digest):
            previous = None
            if seen.get("rev") and seen.get("head"):
                previous = store.manifests.load(RevisionId(seen["rev"]), expected_hash=seen["head"])
            sync.report_revision(store, manifest, digest, previous)
        plan = store.plan(save=True)
        self._grow_loops(plan, assets)
        sync.observe_inputs(store, plan.inputs if digest is None else pending_inputs(plan.inputs, manifest))
        why = blocked(plan, self.preflight) if plan.has_changes() else None
        if why:  # no fingerprint kept: planned again once the provider is configured
            self.notes.append(why)
        elif plan.has_changes():
            self.requests.append(backfill_request(plan, assets, self.context.repository_def.asset_graph))
        state = {"head": digest, "rev": str(manifest.revision), "group": assets.group}
        self.movies[movie_id] = {"fp": "blocked" if why else fingerprint, **state}

    def _grow_loops(self, plan: ExecutionPlan, assets: BlueprintAssets) -> None:
        needed: dict[str, int] = {}
        for job in [*plan.jobs, *plan.carried.values()]:
            for loop, index in job.indices.items():
                needed[loop] = max(needed.get(loop, 0), index + 1)
        for loop, count in needed.items():
            known = self.loops.get(loop, 0)
            if count > known:
                self.instance.add_dynamic_partitions(loop_partitions(loop).name, [str(i) for i in range(known, count)])
                self.loops[loop] = count


def build_movie_sensor(
    catalogue: dict[str, BlueprintAssets],
    interval: int = 15,
    preflight: Callable[[], Preflight] = _no_preflight_for_tick,
    viewer_url: str | None = None,
    batch: int = 50,
) -> dg.SensorDefinition:
    """The sensor over every movie of every blueprint in `catalogue`; `preflight` makes each tick's check."""

    @dg.sensor(
        name="movie_sensor",
        asset_selection=dg.AssetSelection.all(),
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Discovers movies, mirrors revisions committed outside Dagster and every input edit into the "
            "asset catalogue, and backfills exactly the dirty (asset, partition)s plus the manifest."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, storage: StorageResource, events: EventLogResource):
        return MovieTick(context, storage, events, catalogue, preflight(), viewer_url).run(batch)

    return _sensor
