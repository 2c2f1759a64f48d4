"""The CAS IO manager: producer outputs go to the blob store and the artefact log; inputs load by hash."""

from dataclasses import dataclass

import dagster as dg

from movie_assets.errors import BlobNotFound
from movie_assets.orchestration.keys import job_id_of
from movie_assets.orchestration.resources import EventLogResource, StorageResource, movie_store
from movie_assets.pipeline.models import JobResult
from movie_assets.pipeline.produce import ProduceResult
from movie_assets.pipeline.recorder import JobRecorder, PreparedJob
from movie_assets.settings import Settings
from movie_assets.store.models import JobRecord


@dataclass
class JobOutcome:
    """What a producer asset hands to the IO manager: the prepared job and, unless reused, its output."""

    prepared: PreparedJob
    produced: ProduceResult | None = None
    duration: float = 0.0


def latest_record(instance: dg.DagsterInstance, key: dg.AssetKey, store) -> JobRecord | None:
    """The job record of an asset's latest materialization, else of the live manifest."""
    event = instance.get_latest_materialization_event(key)
    if event is not None and event.asset_materialization is not None:
        meta = event.asset_materialization.metadata.get("record")
        if meta is not None:
            return JobRecord.model_validate(meta.value)
    _, job_id = job_id_of(key)
    return store.current()[0].jobs.get(job_id)


class CasIOManager(dg.ConfigurableIOManager):
    """Stores JobOutcomes through the core BlobStore and event log; loads upstream JobRecords by hash."""

    storage: StorageResource
    events: EventLogResource

    def handle_output(self, context: dg.OutputContext, obj: JobOutcome | None) -> None:
        if obj is None:
            return
        movie_id, _ = job_id_of(context.asset_key)
        viewer_url = Settings.load().viewer_url
        store = movie_store(self.storage, self.events, movie_id)
        # the IO manager only stores: producing happened in the asset, recording is the pipeline's
        recorder = JobRecorder(store.blobs, store.events)
        if obj.produced is None:
            result: JobResult = recorder.reuse(obj.prepared)
        else:
            result = recorder.success(obj.prepared, obj.produced, obj.duration)
        record = result.record
        assert record is not None
        metadata: dict[str, object] = {
            "status": result.status,
            "signature": record.inputs_hash,
            "cost_usd": dg.MetadataValue.float(result.cost),
            "record": dg.MetadataValue.json(record.model_dump(mode="json")),
        }
        if obj.prepared.reused_from:
            metadata["reused_from"] = obj.prepared.reused_from
        for artefact_id, blob in record.outputs.items():
            name = artefact_id.rsplit("/", 1)[-1]
            metadata[f"{name}_blob"] = blob.hash
            metadata[f"{name}_size"] = dg.MetadataValue.int(blob.size)
            metadata[f"{name}_mime_type"] = blob.mime_type
            if viewer_url:  # the viewer plays and explains it; Dagster cannot play media
                link = f"{viewer_url.rstrip('/')}/movies/{movie_id}/artefacts/{artefact_id}"
                metadata[f"{name}_in_viewer"] = dg.MetadataValue.url(link)
        context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext) -> JobRecord:
        key = context.upstream_output.asset_key if context.upstream_output else context.asset_key
        movie_id, job_id = job_id_of(key)
        store = movie_store(self.storage, self.events, movie_id)
        record = latest_record(context.instance, key, store)
        if record is None:
            raise dg.Failure(f"upstream {key.to_user_string()} has never been materialized or committed")
        missing = [b.hash for b in record.outputs.values() if not store.blobs.has(b.hash)]
        if missing:
            raise BlobNotFound(f"upstream {job_id} of {movie_id} points at missing blobs {missing}")
        return record
