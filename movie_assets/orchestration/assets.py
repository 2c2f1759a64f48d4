"""Assets of one blueprint: an input asset per blueprint input, an asset per producer, the manifest.

Every asset is partitioned by movie (and loop index for loop producers). Materialising a partition
asks the planner what the movie needs and runs only that partition's dirty jobs; everything else is
taken from the store, so Dagster and the CLI always agree on what a movie is.
"""

import functools
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from movie_assets.errors import InvalidValue, ManifestConflict
from movie_assets.movie import MovieStore
from movie_assets.orchestration.keys import (
    BASE_HASH_TAG,
    MOVIE_DIM,
    NO_BASE,
    RESERVED,
    REVISION_TAG,
    input_key,
    manifest_key,
    partitions_for,
    producer_key,
    split_partition,
    tag_value,
)
from movie_assets.orchestration.metadata import record_metadata
from movie_assets.orchestration.resources import EventLogResource, StorageResource, movie_store
from movie_assets.pipeline.blueprint import Blueprint
from movie_assets.pipeline.blueprint.graph import recipe_version
from movie_assets.pipeline.blueprint.shape import ProducerShape, asset_group, blueprint_shape, sinks
from movie_assets.pipeline.models import ExecutionPlan, RunResult
from movie_assets.pipeline.produce import ProduceFn
from movie_assets.pipeline.recorder import data_version_of
from movie_assets.store.models import JobRecord

log = logging.getLogger(__name__)


def build_blueprint_assets(
    bp: Blueprint, produce_factory: Callable[[], ProduceFn], viewer_url: str | None = None
) -> list:
    """Input specs, producer assets and the manifest asset of one blueprint."""
    shape = blueprint_shape(bp)
    clash = RESERVED & set(shape)
    if clash:
        raise InvalidValue(f"{bp.meta.id}: producer names {sorted(clash)} are reserved for Dagster asset keys")
    group = asset_group(bp.meta.id)
    out: list = [
        dg.AssetSpec(
            key=input_key(group, name),
            group_name=group,
            description=f"Input {name} ({spec.type}). {spec.description}".strip(),
            partitions_def=partitions_for(group, spec.loop),
            kinds={"input"},
        )
        for name, spec in bp.inputs.items()
    ]
    loops = {name: spec.loop for name, spec in bp.inputs.items()}
    for producer in shape.values():
        out.append(_producer_asset(bp, group, producer, shape, loops, produce_factory, viewer_url))
    out.append(_manifest_asset(bp, group, sinks(shape), shape))
    return out


def dependency(key: dg.AssetKey, loop: str | None, upstream_loop: str | None) -> dg.AssetDep:
    """A dependency whose partitions line up: same movie, and same index when both loop."""
    if loop == upstream_loop:
        return dg.AssetDep(key)
    return dg.AssetDep(key, partition_mapping=_same_movie(loop is None or upstream_loop is None))


@functools.cache
def _same_movie(one_side_single: bool) -> dg.PartitionMapping:
    # these mappings are marked beta in dagster 1.13 and warn on every construction; the version is
    # pinned and the behaviour tested here, so they are built once with the warning silenced
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        if one_side_single:
            return dg.MultiToSingleDimensionPartitionMapping(MOVIE_DIM)
        movie = dg.DimensionPartitionMapping(MOVIE_DIM, dg.IdentityPartitionMapping())
        return dg.MultiPartitionMapping({MOVIE_DIM: movie})


def _producer_asset(
    bp: Blueprint,
    group: str,
    producer: ProducerShape,
    shape: dict[str, ProducerShape],
    input_loops: dict[str, str | None],
    produce_factory: Callable[[], ProduceFn],
    viewer_url: str | None,
):
    spec = bp.producers[producer.name]
    deps = [dependency(input_key(group, i), producer.loop, input_loops[i]) for i in sorted(producer.inputs)]
    deps += [dependency(producer_key(group, u), producer.loop, shape[u].loop) for u in sorted(producer.upstream)]
    outputs = ", ".join(f"{name} ({o.mime_type})" for name, o in spec.outputs.items())
    per = f"per {producer.loop} of each movie" if producer.loop else "once per movie"
    model = spec.model or spec.implementation or producer.name

    @dg.asset(
        key=producer_key(group, producer.name),
        group_name=group,
        code_version=recipe_version(spec, spec.choice()[0]),  # version + default model choice + prompt
        description=f"{spec.description or producer.name} — runs {per}. Outputs: {outputs}.",
        partitions_def=partitions_for(group, producer.loop),
        deps=deps,
        kinds=set(sorted(producer.kinds)[:3]),
        tags={"producer": tag_value(producer.name), "provider": tag_value(spec.provider)},
        metadata={"provider": spec.provider, "model": model, "version": spec.version, "outputs": outputs},
    )
    def _materialize(context: dg.AssetExecutionContext, storage: StorageResource, events: EventLogResource):
        movie_id, index = split_partition(context.partition_key, producer.loop)
        store = _store_for(storage, events, movie_id, bp)
        outcome = run_partition(store, producer.name, producer.loop, index, produce_factory(), context.run.tags)
        for line in outcome.log:
            context.log.info(line)
        if outcome.error:
            raise dg.Failure(outcome.error)
        metadata = record_metadata(store, outcome.records, viewer_url, outcome.status)
        metadata["cost_usd"] = dg.MetadataValue.float(outcome.cost)
        metadata["model"] = model
        return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(outcome.data_version))

    return _materialize


def _store_for(storage: StorageResource, events: EventLogResource, movie_id: str, bp: Blueprint) -> MovieStore:
    store = movie_store(storage, events, movie_id).require()
    own = store.blueprint()
    if own.meta.id != bp.meta.id:
        raise dg.Failure(f"movie {movie_id} is made from blueprint {own.meta.id!r}, not {bp.meta.id!r}")
    if own.hash != bp.hash:  # blueprints are code: a deployed change (say a version bump) applies here
        log.warning(
            "%s: applying the deployed blueprint %s v%s (the movie's copy differed)",
            movie_id,
            bp.meta.id,
            bp.meta.version,
        )
        store.set_blueprint(bp)
    return store


@dataclass
class PartitionOutcome:
    """What materialising one (producer, partition) did."""

    records: list[JobRecord] = field(default_factory=list)
    status: str = "up to date"
    cost: float = 0.0
    error: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def data_version(self) -> str:
        outputs = {a: b for r in self.records for a, b in r.outputs.items()}
        return data_version_of(outputs) if outputs else NO_BASE


def run_partition(
    store: MovieStore, producer: str, loop: str | None, index: int | None, produce: ProduceFn, tags: dict
) -> PartitionOutcome:
    """Run the planner's dirty jobs of one producer for one movie (and loop index) through the runner,
    reusing what it can."""
    plan = store.plan()
    if tags.get(REVISION_TAG):
        plan = plan.replace(revision=tags[REVISION_TAG])

    def mine(producer_name: str, indices: dict[str, int]) -> bool:
        return producer_name == producer and (loop is None or indices.get(loop) == index)

    outcome = PartitionOutcome()
    outcome.records += [r for r in plan.carried.values() if mine(r.producer, r.indices)]
    if not any(mine(j.producer, j.indices) for layer in plan.layers for j in layer):
        return outcome
    run = store.run(plan, produce, concurrency=1, only=lambda job: mine(job.producer, job.indices))
    why = {job.job_id: job.reasons for job in plan.jobs}
    for job_id, result in run.results.items():
        if result.status not in ("succeeded", "reused") or result.record is None:
            hint = " (materialise its upstream partitions first)" if "not available" in (result.error or "") else ""
            outcome.error = f"{job_id} failed: {result.error}{hint}"
            return outcome
        reasons = ", ".join(why[job_id]) if result.status == "succeeded" else ""
        said = f"produced ({reasons})" if reasons else f"signature {result.record.inputs_hash[:12]} reused"
        outcome.log.append(f"{job_id}: {said}")
        outcome.records.append(result.record)
        outcome.cost += result.cost
    outcome.status = "produced" if any(r.status == "succeeded" for r in run.results.values()) else "reused"
    return outcome


def _manifest_asset(bp: Blueprint, group: str, final: list[str], shape: dict[str, ProducerShape]):
    @dg.asset(
        key=manifest_key(group),
        group_name=group,
        deps=[dependency(producer_key(group, name), None, shape[name].loop) for name in final],
        partitions_def=partitions_for(group, None),
        description=(
            "Publishes a movie's next revision: replans (every producer must be up to date), builds the "
            "manifest, swaps current.json only if the run's base is still live, then writes the final cut "
            "under exports/, the readable copies and the metrics, exactly as the CLI does."
        ),
        kinds={"json"},
    )
    def _commit(context: dg.AssetExecutionContext, storage: StorageResource, events: EventLogResource):
        store = _store_for(storage, events, context.partition_key, bp)
        plan = store.plan()
        return commit_result(store, plan, context.run.tags.get(BASE_HASH_TAG))

    return _commit


def commit_result(store: MovieStore, plan: ExecutionPlan, expected: str | None) -> dg.MaterializeResult:
    """Publish what the producers made, or fail without publishing anything."""
    if plan.jobs:
        raise dg.Failure(f"{store.movie_id}: producers still dirty, nothing published: {', '.join(plan.job_ids)}")
    if expected is not None and (None if expected == NO_BASE else expected) != plan.manifest_base_hash:
        raise dg.Failure(
            f"{store.movie_id}: the live manifest moved since this run was planned "
            f"(planned on {expected}, live {plan.manifest_base_hash}); nothing published"
        )
    if not plan.has_changes():
        return dg.MaterializeResult(
            metadata=manifest_metadata(store, committed=False),
            data_version=dg.DataVersion(plan.manifest_base_hash or NO_BASE),
        )
    try:
        pointer = store.commit(RunResult(plan=plan))
    except ManifestConflict as exc:
        raise dg.Failure(str(exc)) from exc
    metadata = manifest_metadata(store, committed=True)
    metadata["changed_inputs"] = ", ".join(plan.changed_inputs)[:500] or "none"
    metadata["reused_jobs"] = dg.MetadataValue.int(len(plan.reused))
    return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(pointer.hash))


def manifest_metadata(store: MovieStore, committed: bool) -> dict:
    """Revision, hash, artefact count and a link to the revision's final cut."""
    manifest, digest = store.current()
    out: dict = {
        "revision": str(manifest.revision),
        "manifest_hash": digest or NO_BASE,
        "committed": committed,
        "artefacts": dg.MetadataValue.int(len(manifest.artefacts)),
    }
    final = store.final_cut(manifest)
    if final is not None:
        where = store.fs.resolve(final)
        local = store.storage.config.driver == "local"
        out["final_cut"] = dg.MetadataValue.path(where) if local else dg.MetadataValue.url(where)
    return out
