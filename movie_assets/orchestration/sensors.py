"""The one sensor: discovers movies, mirrors the store into Dagster, and requests one run per changed movie.

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
    manifest_key,
    movies_partitions,
    producer_key,
    tag_value,
)
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


def dirty_assets(plan: ExecutionPlan, assets: BlueprintAssets) -> list[dg.AssetKey]:
    """The producers with dirty jobs in the plan, plus the movie's manifest."""
    producers = sorted({job.producer for job in plan.jobs})
    return [*(producer_key(assets.group, p) for p in producers), manifest_key(assets.group)]


def run_request(plan: ExecutionPlan, assets: BlueprintAssets) -> dg.RunRequest:
    """One run for the movie: its dirty producers and its manifest, in the movie's partition (the cursor's
    fingerprint, not a run key, keeps a tick from asking twice: a plan that failed may be asked again)."""
    why = "; ".join(f"{job.job_id}: {', '.join(job.reasons)}" for job in plan.jobs)
    base = plan.manifest_base_hash or NO_BASE
    return dg.RunRequest(
        partition_key=plan.movie_id,
        asset_selection=dirty_assets(plan, assets),
        tags={
            MOVIE_TAG: tag_value(plan.movie_id),
            REVISION_TAG: str(plan.revision),
            BASE_HASH_TAG: base,
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
        self.state.pop("loops", None)  # a cursor from before movies were single partitions
        self.mirrored = 0
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
            skip_reason=None if self.requests else ("; ".join(self.notes)[:1000] or self._quiet()),
        )

    def _run_in_flight(self, movie_id: str) -> bool:
        active = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING]
        active.append(dg.DagsterRunStatus.STARTED)
        running = dg.RunsFilter(tags={MOVIE_TAG: tag_value(movie_id)}, statuses=active)
        return bool(self.instance.get_run_records(filters=running, limit=1))

    def _quiet(self) -> str:
        if self.mirrored:
            return f"mirrored {self.mirrored} movie(s) committed outside Dagster; nothing to run"
        return "no movie changed"

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
        if self._run_in_flight(movie_id):
            # its commit may be published before the run's own events are stored: mirrored now, it would
            # look committed outside Dagster. Its fingerprint is kept, so the next tick looks again.
            self.notes.append(f"{movie_id}: a run of it is in flight; looked at again next tick")
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
            self.mirrored += 1
        plan = store.plan(save=True)
        first_sight = not seen
        entries = plan.inputs if digest is None else pending_inputs(plan.inputs, manifest)
        sync.observe_inputs(store, entries, first_sight=first_sight and digest is None)
        why = blocked(plan, self.preflight) if plan.has_changes() else None
        if why:  # no fingerprint kept: planned again once the provider is configured
            self.notes.append(why)
        elif plan.has_changes():
            self.requests.append(run_request(plan, assets))
        state = {"head": digest, "rev": str(manifest.revision), "group": assets.group}
        self.movies[movie_id] = {"fp": "blocked" if why else fingerprint, **state}


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
        # Dagster's sensor daemon wakes every 5 s and skips a sensor whose minimum interval has not quite
        # passed: an interval equal to the wake period would tick every 5 or 10 s, by jitter. A second
        # under it ticks on the wake the interval falls due.
        minimum_interval_seconds=max(1, interval - 1),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Discovers movies, mirrors revisions committed outside Dagster and every input edit into the "
            "asset catalogue, and requests one run per changed movie: its dirty producers and its manifest."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, storage: StorageResource, events: EventLogResource):
        return MovieTick(context, storage, events, catalogue, preflight(), viewer_url).run(batch)

    return _sensor
