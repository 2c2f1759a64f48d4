"""Cloud mode end to end: Dagster on PostgreSQL, multiprocess executor, S3 (moto) blobs/manifests, Redis events."""

import json

import dagster as dg
import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.movie import MovieStore
from movie_assets.orchestration import build_definitions
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets.store.redis_events import RedisEventLog

from ..servers import PostgresCluster
from . import cloud_job
from .partitions import stale_partitions

MOVIE = cloud_job.MOVIE


@pytest.fixture(scope="module")
def postgres():
    try:
        cluster = PostgresCluster()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL cluster for the Dagster production instance: {exc}")
    yield cluster
    cluster.stop()


# a multiprocess Dagster run costs seconds per step; five steps here, so 900 s is ample headroom
@pytest.mark.timeout(900)
def test_cloud_mode_end_to_end(moto_s3, redis_server, postgres, monkeypatch, tmp_path):
    storage = moto_s3.storage()
    prefix = "movie_assets"
    for name, value in (
        ("ROOT", storage.config.root),
        ("STORAGE_OPTIONS", json.dumps(storage.config.options)),
        ("EVENT_LOG", "redis"),
        ("REDIS_URL", redis_server.url),
    ):
        monkeypatch.setenv(f"MOVIE_ASSETS_{name}", value)
    events = RedisEventLog(storage.movie(MOVIE), redis_server.url, prefix)
    events.client.delete(*events.streams.values())
    store = MovieStore(storage, MOVIE, events)
    store.init(load_builtin("audio-only"), {"Title": "Cloud film", "NumOfSegments": 2})

    store.regenerate(default_registry())  # built by the CLI's code path, straight on S3 + Redis
    defs = build_definitions()
    overrides = postgres.dagster_storage()
    bucket = storage.config.root.removeprefix("s3://").split("/", 1)[0]
    overrides["compute_logs"] = _s3_compute_logs(moto_s3, bucket, monkeypatch)
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(overrides=overrides, temp_dir=str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        resources = {"storage": defs.resources["storage"], "events": defs.resources["events"]}
        sensor = defs.resolve_sensor_def("movie_sensor")

        def tick(cursor):
            context = dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor, definitions=defs)
            return sensor(context)

        first = tick(None)  # the CLI's rev-0001 is mirrored into the PostgreSQL instance
        assert first.run_requests == []
        assert stale_partitions(defs, instance) == (set(), set())
        manifest, _ = store.current()
        assert manifest.revision == "rev-0001" and len(manifest.artefacts) == 12  # 8 + title, summary, 2 lines
        assert storage.movie(MOVIE).exists("events/rev-0001.inputs.jsonl")
        assert events.client.xlen(events.streams["inputs"]) == 0

        # the edit goes through the CLI, configured by the same environment as the Dagster definitions
        edited = CliRunner().invoke(app, ["edit", MOVIE, "SegmentText[1]=The second scene, seen from the clouds."])
        assert edited.exit_code == 0, edited.output
        [request] = tick(first.cursor).run_requests
        wanted = {key.path[-1] for key in request.asset_selection}
        assert request.partition_key == MOVIE
        assert wanted == {"script", "narration", "timeline", "export", "manifest"}
        assert storage.movie(MOVIE).exists("runs/rev-0002-plan.json")
        run_config = {"execution": {"config": {"max_concurrent": 2}}}
        # what the run launcher starts for the request: one run, each step in its own process
        with dg.execute_job(
            dg.reconstructable(cloud_job.regenerate_job),
            instance,
            run_config=run_config,
            asset_selection=list(request.asset_selection),
            tags={**request.tags, "dagster/partition": MOVIE},
        ) as result:
            assert result.success
            assert any(e.event_type_value == "STEP_WORKER_STARTED" for e in result.all_events)
        manifest, _ = store.current()
        assert manifest.revision == "rev-0002"
        for rel in ("exports/rev-0002.wav", "events/rev-0002.inputs.jsonl", "events/rev-0002.artefacts.jsonl"):
            assert storage.movie(MOVIE).exists(rel), rel
        assert events.client.xlen(events.streams["inputs"]) == 0
        # the trimmed history is still complete through the archives on S3
        assert [e.key for e in events.stream_inputs()][-1] == "SegmentText[1]"
        assert stale_partitions(defs, instance) == (set(), set())
        _assert_presigned_link(instance)
        _assert_step_logs_on_s3(instance, moto_s3, bucket)


def _s3_compute_logs(moto_s3, bucket: str, monkeypatch) -> dict:
    """Step logs to S3 through dagster-aws's compute log manager, as dagster.yaml documents."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return {
        "module": "dagster_aws.s3.compute_log_manager",
        "class": "S3ComputeLogManager",
        "config": {
            "bucket": bucket,
            "prefix": "dagster-compute-logs",
            "endpoint_url": moto_s3.endpoint,
            "use_ssl": False,
            "region": "us-east-1",
        },
    }


def _assert_step_logs_on_s3(instance, moto_s3, bucket: str) -> None:
    import boto3

    assert type(instance.compute_log_manager).__name__ == "S3ComputeLogManager"
    client = boto3.client("s3", endpoint_url=moto_s3.endpoint, region_name="us-east-1")
    logs = client.list_objects_v2(Bucket=bucket, Prefix="dagster-compute-logs/")
    assert logs.get("KeyCount", 0) > 0, "the steps' logs were uploaded to S3"


def _assert_presigned_link(instance) -> None:
    """The edited script's materialization links a presigned URL that serves the blob."""
    import urllib.request

    script = instance.get_latest_data_version_record(
        dg.AssetKey([cloud_job.GROUP, "script"]), False, MOVIE
    ).asset_materialization
    [row] = [r for r in script.metadata["segments"].value.records if r.data["output"] == "segment-0001/script/text"]
    link = row.data["link"]
    assert link.startswith("http") and "Signature=" in link, "a presigned URL to the blob on S3"
    with urllib.request.urlopen(link, timeout=10) as response:
        assert response.read().decode() == "The second scene, seen from the clouds."
