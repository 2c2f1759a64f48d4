"""Asset factory: one asset per producer job of a movie, input source assets, the manifest asset, checks."""

import time
from collections.abc import Callable

import dagster as dg

from movie_assets.errors import BlobIntegrityError, BlobNotFound, InvalidValue, ManifestConflict
from movie_assets.orchestration.io_manager import JobOutcome, latest_record
from movie_assets.orchestration.keys import (
    BASE_HASH_TAG,
    NO_BASE,
    RESERVED,
    REVISION_TAG,
    group_name,
    input_key,
    job_key,
    manifest_key,
)
from movie_assets.orchestration.resources import EventLogResource, StorageResource, movie_store
from movie_assets.pipeline.blueprint.graph import ProducerGraph, ProducerNode
from movie_assets.pipeline.models import RunResult
from movie_assets.pipeline.planner import descriptor
from movie_assets.pipeline.produce import ProduceFn
from movie_assets.pipeline.recorder import PreparedJob, data_version_of
from movie_assets.pipeline.runner import Runner
from movie_assets.pipeline.signature import Decision, pinned_record
from movie_assets.pipeline.steering import Steering
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.models import BlobRef


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def build_movie_assets(
    movie_id: str, graph: ProducerGraph, produce_factory: Callable[[], ProduceFn]
) -> tuple[list, list]:
    """(assets, asset checks) of one movie's expanded graph."""
    clash = RESERVED & {node.path[0] for node in graph.nodes.values()}
    if clash:
        raise InvalidValue(f"{movie_id}: producer names {sorted(clash)} are reserved for Dagster asset keys")
    group = group_name(movie_id)
    blueprint = graph.blueprint
    assets: list = []
    checks: list = []
    for key in graph.inputs:
        assets.append(_input_asset(movie_id, key, blueprint.inputs[key.split("[")[0]].description, group))
    for node in graph.nodes.values():
        assets.append(_job_asset(movie_id, node, group, produce_factory))
        checks.append(_blob_check(movie_id, node))
    assets.append(_manifest_asset(movie_id, [job_key(movie_id, n.path) for n in graph.nodes.values()], group))
    return assets, checks


def _input_asset(movie_id: str, key: str, description: str, group: str):
    @dg.observable_source_asset(
        key=input_key(movie_id, key),
        group_name=group,
        description=f"User input {key}. {description}".strip(),
    )
    def _observe(storage: StorageResource, events: EventLogResource) -> dg.DataVersion:
        _, entries = movie_store(storage, events, movie_id).graph()
        return dg.DataVersion(entries[key].hash if key in entries else "absent")

    return _observe


def _job_asset(movie_id: str, node: ProducerNode, group: str, produce_factory: Callable[[], ProduceFn]):
    upstream = sorted(node.upstream_jobs)
    ins = {f"up_{_safe(job)}": dg.AssetIn(key=job_key(movie_id, job.split("/"))) for job in upstream}
    input_deps = sorted({ref.id for refs in node.deps.values() for ref in refs if ref.kind == "input"})
    outputs = ", ".join(f"{o.name} ({o.mime_type})" for o in node.outputs)
    spec = node.producer
    description = (
        f"Producer `{spec}` v{node.version} ({node.provider}/{node.implementation})"
        + (f", {', '.join(f'{k} {v}' for k, v in node.indices.items())}" if node.indices else "")
        + f". Outputs: {outputs}."
    )

    @dg.asset(
        key=job_key(movie_id, node.path),
        group_name=group,
        code_version=node.version,
        description=description,
        ins=ins,
        deps=[input_key(movie_id, k) for k in input_deps],
        io_manager_key="cas_io_manager",
        metadata={
            "producer": spec,
            "job_id": node.job_id,
            "segment": node.indices.get("segment", -1),
            "outputs": outputs,
            "provider": node.provider,
        },
        kinds={"python"},
    )
    def _produce(context: dg.AssetExecutionContext, storage: StorageResource, events: EventLogResource, **records):
        store = movie_store(storage, events, movie_id)
        graph, entries = store.graph()
        current = graph.nodes.get(node.job_id)
        if current is None:
            raise dg.Failure(f"{node.job_id} is not part of {movie_id}'s current inputs; reload the definitions")
        steering = Steering.of(store.effective_inputs())  # the user's pins and takes, as the planner sees them
        job = descriptor(current, [], False, None, steering.takes.get(node.job_id, 0))
        known = {a: b for record in records.values() for a, b in record.outputs.items()}
        manifest, _ = store.current()
        revision = context.run.tags.get(REVISION_TAG) or manifest.revision.next()
        runner = Runner(store.storage.movie(movie_id), store.events, produce_factory())
        prepared = runner.prepare_job(job, entries, known, manifest, store.succeeded_index(), revision)
        pinned = steering.pinned([o.artefact_id for o in job.outputs])
        if pinned:  # the user's file stands in for the producer, exactly as in the planner
            pin = Decision(pinned_record(job, pinned).inputs_hash, {}, pinned, "pin")
            prepared = PreparedJob(job, revision, pin, prepared.request)
        if prepared.reused is not None:
            context.log.info(f"{node.job_id}: signature {prepared.signature[:12]} reused from {prepared.reused_from}")
            return dg.Output(JobOutcome(prepared), data_version=dg.DataVersion(prepared.data_version()))
        started = time.monotonic()
        try:
            produced = runner.produce(prepared.request)
            refs = {
                o.artefact_id: BlobRef(
                    hash=sha256_bytes(produced.outputs[o.name]),
                    size=len(produced.outputs[o.name]),
                    mime_type=o.mime_type,
                )
                for o in job.outputs
            }
        except Exception as exc:
            runner.recorder.failure(job, revision, prepared.signature, f"{type(exc).__name__}: {exc}")
            raise dg.Failure(f"{node.job_id} failed: {type(exc).__name__}: {exc}") from exc
        outcome = JobOutcome(prepared, produced, time.monotonic() - started)
        return dg.Output(outcome, data_version=dg.DataVersion(data_version_of(refs)))

    return _produce


def _manifest_asset(movie_id: str, job_keys: list[dg.AssetKey], group: str):
    @dg.asset(
        key=manifest_key(movie_id),
        group_name=group,
        deps=job_keys,
        description=(
            "Publishes the next revision: replans (every producer must be up to date), builds the manifest "
            "and swaps current.json only if the run's base revision is still live."
        ),
        kinds={"python"},
    )
    def _commit(context: dg.AssetExecutionContext, storage: StorageResource, events: EventLogResource):
        store = movie_store(storage, events, movie_id)
        plan = store.plan()
        if plan.jobs:
            raise dg.Failure(f"{movie_id}: producers still dirty, nothing published: {plan.job_ids}")
        expected = context.run.tags.get(BASE_HASH_TAG)
        if expected is not None and (None if expected == NO_BASE else expected) != plan.manifest_base_hash:
            raise dg.Failure(
                f"{movie_id}: the live manifest moved since this run was planned "
                f"(planned on {expected}, live {plan.manifest_base_hash}); nothing published"
            )
        if not plan.has_changes():
            return dg.MaterializeResult(
                metadata={"revision": str(plan.base_revision), "committed": False},
                data_version=dg.DataVersion(plan.manifest_base_hash or NO_BASE),
            )
        try:
            pointer = store.commit(RunResult(plan=plan))
        except ManifestConflict as exc:
            raise dg.Failure(str(exc)) from exc
        manifest, _ = store.current()
        return dg.MaterializeResult(
            metadata={
                "revision": str(pointer.revision),
                "manifest_hash": pointer.hash,
                "committed": True,
                "artefacts": dg.MetadataValue.int(len(manifest.artefacts)),
                "changed_inputs": ", ".join(plan.changed_inputs),
                "reused_jobs": dg.MetadataValue.int(len(plan.reused)),
            },
            data_version=dg.DataVersion(pointer.hash),
        )

    return _commit


def _blob_check(movie_id: str, node: ProducerNode):
    key = job_key(movie_id, node.path)

    @dg.asset_check(asset=key, name="blobs_intact", description="Every stored output blob exists and matches its hash")
    def _check(context: dg.AssetCheckExecutionContext, storage: StorageResource, events: EventLogResource):
        store = movie_store(storage, events, movie_id)
        record = latest_record(context.instance, key, store)
        if record is None:
            return dg.AssetCheckResult(passed=False, metadata={"problem": "never materialized"})
        problems = []
        for artefact_id, blob in record.outputs.items():
            try:
                store.blobs.verify(blob.hash)
            except (BlobNotFound, BlobIntegrityError) as exc:
                problems.append(f"{artefact_id}: {exc}")
        return dg.AssetCheckResult(
            passed=not problems,
            metadata={"blobs": dg.MetadataValue.int(len(record.outputs)), "problems": "\n".join(problems) or "none"},
        )

    return _check
