"""Assets of one blueprint: an input asset per blueprint input, an asset per producer, the manifest.

Every asset is partitioned by movie. Materialising a producer's partition asks the planner what the
movie needs and runs that producer's dirty jobs (every segment of a loop producer) through the runner;
everything else is taken from the store, so Dagster and the CLI always agree on what a movie is. The
manifest asset publishes, and carries the checks a published revision must pass.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from movie_assets.errors import InvalidValue, ManifestConflict
from movie_assets.movie import MovieStore
from movie_assets.orchestration.inputs import build_input_asset
from movie_assets.orchestration.keys import (
    BASE_HASH_TAG,
    MOVIE_TAG,
    NO_BASE,
    RESERVED,
    REVISION_TAG,
    input_key,
    manifest_key,
    partitions_for,
    producer_key,
    tag_value,
)
from movie_assets.orchestration.metadata import manifest_metadata, record_metadata
from movie_assets.orchestration.resources import EventLogResource, StorageResource, movie_store
from movie_assets.pipeline.blueprint import Blueprint
from movie_assets.pipeline.blueprint.graph import recipe_version
from movie_assets.pipeline.blueprint.shape import ProducerShape, asset_group, blueprint_shape, sinks
from movie_assets.pipeline.models import ExecutionPlan, RunResult
from movie_assets.pipeline.produce import ProduceFn
from movie_assets.pipeline.recorder import data_version_of
from movie_assets.pipeline.steering import MODEL
from movie_assets.store.models import JobRecord

log = logging.getLogger(__name__)


def build_blueprint_assets(
    bp: Blueprint, produce_factory: Callable[[], ProduceFn], viewer_url: str | None = None
) -> list:
    """The observable inputs, producer assets and the manifest asset of one blueprint."""
    shape = blueprint_shape(bp)
    clash = RESERVED & set(shape)
    if clash:
        raise InvalidValue(f"{bp.meta.id}: producer names {sorted(clash)} are reserved for Dagster asset keys")
    group = asset_group(bp.meta.id)
    out: list = [build_input_asset(bp, group)]
    for producer in shape.values():
        out.append(_producer_asset(bp, group, producer, produce_factory, viewer_url))
    out.append(_manifest_asset(bp, group, sinks(shape), viewer_url))
    return out


def _producer_asset(
    bp: Blueprint,
    group: str,
    producer: ProducerShape,
    produce_factory: Callable[[], ProduceFn],
    viewer_url: str | None,
):
    spec = bp.producers[producer.name]
    deps = [input_key(group, i) for i in sorted(producer.inputs)]
    deps += [producer_key(group, u) for u in sorted(producer.upstream)]
    outputs = ", ".join(f"{name} ({o.mime_type})" for name, o in spec.outputs.items())
    per = f"every {producer.loop} of a movie in one step" if producer.loop else "once per movie"
    choice, picked = spec.choice()
    model = choice or "offline"

    @dg.asset(
        key=producer_key(group, producer.name),
        group_name=group,
        code_version=recipe_version(spec, spec.choice()[0]),  # version + default model choice + prompt
        description=f"{spec.description or producer.name} — runs {per}. Outputs: {outputs}.",
        partitions_def=partitions_for(group),
        deps=deps,
        kinds=set(sorted(producer.kinds)[:3]),
        tags={"producer": tag_value(producer.name), "provider": tag_value(spec.provider)},
        metadata={
            "provider": picked.provider if picked else spec.provider,
            "model_choice": model,
            "version": spec.version,
            "outputs": outputs,
        },
    )
    def _materialize(context: dg.AssetExecutionContext, storage: StorageResource, events: EventLogResource):
        movie_id = context.partition_key
        tag_movie(context, movie_id)
        store = _store_for(storage, events, movie_id, bp)
        outcome = run_partition(store, producer.name, produce_factory(), context.run.tags)
        for line in outcome.log:
            context.log.info(line)
        if outcome.error:
            raise dg.Failure(outcome.error)
        metadata = record_metadata(store, outcome.records, viewer_url, outcome.status, outcome.why)
        metadata["cost_usd"] = dg.MetadataValue.float(outcome.cost)
        metadata["model_choice"] = str(store.effective_inputs().get(f"{MODEL}{producer.name}") or model)
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
    why: dict[str, str] = field(default_factory=dict)  # job id -> produced (and why) or reused

    @property
    def data_version(self) -> str:
        outputs = {a: b for r in self.records for a, b in r.outputs.items()}
        return data_version_of(outputs) if outputs else NO_BASE


def tag_movie(context: dg.AssetExecutionContext, movie_id: str) -> None:
    """Tag the run with its movie, also when a user launched it from the UI (Dagster tags the partition)."""
    if context.run.tags.get(MOVIE_TAG) != movie_id:
        context.instance.add_run_tags(context.run.run_id, {MOVIE_TAG: tag_value(movie_id)})


def run_partition(store: MovieStore, producer: str, produce: ProduceFn, tags: dict) -> PartitionOutcome:
    """Run the planner's dirty jobs of one producer for one movie (every segment of a loop producer)
    through the runner, reusing what it can."""
    plan = store.plan()
    if tags.get(REVISION_TAG):
        plan = plan.replace(revision=tags[REVISION_TAG])

    outcome = PartitionOutcome()
    carried = [r for r in plan.carried.values() if r.producer == producer]
    outcome.records += carried
    outcome.why.update({r.job_id: "carried from the live revision" for r in carried})
    if not any(j.producer == producer for layer in plan.layers for j in layer):
        return outcome
    run = store.run(plan, produce, concurrency=2, only=lambda job: job.producer == producer)
    why = {job.job_id: job.reasons for job in plan.jobs}
    for job_id, result in run.results.items():
        if result.status not in ("succeeded", "reused") or result.record is None:
            hint = " (materialise its upstream partitions first)" if "not available" in (result.error or "") else ""
            outcome.error = f"{job_id} failed: {result.error}{hint}"
            return outcome
        reasons = ", ".join(why[job_id]) if result.status == "succeeded" else ""
        said = f"produced ({reasons})" if reasons else f"signature {result.record.inputs_hash[:12]} reused"
        outcome.log.append(f"{job_id}: {said}")
        outcome.why[job_id] = said
        outcome.records.append(result.record)
        outcome.cost += result.cost
    outcome.status = "produced" if any(r.status == "succeeded" for r in run.results.values()) else "reused"
    return outcome


def _manifest_asset(bp: Blueprint, group: str, final: list[str], viewer_url: str | None):
    @dg.asset(
        key=manifest_key(group),
        group_name=group,
        deps=[producer_key(group, name) for name in final],
        partitions_def=partitions_for(group),
        check_specs=[
            dg.AssetCheckSpec("verifies", asset=manifest_key(group), description=VERIFIES),
            dg.AssetCheckSpec("final_cut", asset=manifest_key(group), description=FINAL_CUT),
        ],
        description=(
            "Publishes a movie's next revision: replans (every producer must be up to date), builds the "
            "manifest, swaps current.json only if the run's base is still live, then writes the final cut "
            "under exports/, the readable copies and the metrics, exactly as the CLI does."
        ),
        kinds={"json"},
    )
    def _commit(context: dg.AssetExecutionContext, storage: StorageResource, events: EventLogResource):
        tag_movie(context, context.partition_key)
        store = _store_for(storage, events, context.partition_key, bp)
        plan = store.plan()
        metadata, version = commit_result(store, plan, context.run.tags.get(BASE_HASH_TAG), viewer_url)
        return dg.MaterializeResult(metadata=metadata, data_version=version, check_results=manifest_checks(store))

    return _commit


VERIFIES = "Every manifest parses, every blob it names is stored and hashes right, current.json is intact."
FINAL_CUT = "The live revision's final cut is under exports/ (or the movie has no final output)."


def manifest_checks(store: MovieStore) -> list[dg.AssetCheckResult]:
    """The checks a published revision must pass: the store verifies, and its final cut was exported."""
    report = store.verify()
    manifest, _ = store.current()
    final = store.final_cut(manifest)
    exported = final is None or store.fs.exists(final)
    return [
        dg.AssetCheckResult(
            check_name="verifies",
            passed=report.ok,
            metadata={"problems": "; ".join(report.problems)[:2000] or "none", "blobs": report.blobs_checked},
        ),
        dg.AssetCheckResult(
            check_name="final_cut",
            passed=exported,
            metadata={"path": final or "no final output"},
            severity=dg.AssetCheckSeverity.WARN,
        ),
    ]


def commit_result(
    store: MovieStore, plan: ExecutionPlan, expected: str | None, viewer_url: str | None = None
) -> tuple[dict, dg.DataVersion]:
    """Publish what the producers made, or fail without publishing anything: (metadata, data version)."""
    if plan.jobs:
        raise dg.Failure(f"{store.movie_id}: producers still dirty, nothing published: {', '.join(plan.job_ids)}")
    if expected is not None and (None if expected == NO_BASE else expected) != plan.manifest_base_hash:
        raise dg.Failure(
            f"{store.movie_id}: the live manifest moved since this run was planned "
            f"(planned on {expected}, live {plan.manifest_base_hash}); nothing published"
        )
    if not plan.has_changes():
        return manifest_metadata(store, False, viewer_url), dg.DataVersion(plan.manifest_base_hash or NO_BASE)
    try:
        pointer = store.commit(RunResult(plan=plan))
    except ManifestConflict as exc:
        raise dg.Failure(str(exc)) from exc
    metadata = manifest_metadata(store, True, viewer_url)
    metadata["changed_inputs"] = ", ".join(plan.changed_inputs)[:500] or "none"
    return metadata, dg.DataVersion(pointer.hash)
