"""Cloud mode end to end: Dagster on PostgreSQL, multiprocess executor, S3 (moto) blobs/manifests, Redis events."""

import json

import dagster as dg
import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.movie import MovieStore
from movie_assets.orchestration import build_definitions
from movie_assets.orchestration.keys import regenerate_job_name
from movie_assets.orchestration.sensors import observe_inputs
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.store.redis_events import RedisEventLog

from ..servers import PostgresCluster
from . import cloud_job

MOVIE = cloud_job.MOVIE


@pytest.fixture(scope="module")
def postgres():
    try:
        cluster = PostgresCluster()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL cluster for the Dagster production instance: {exc}")
    yield cluster
    cluster.stop()


# a multiprocess Dagster run costs seconds per step: 2-3.5 min on a busy 2-core machine, so 3x headroom
@pytest.mark.timeout(900)
def test_cloud_mode_end_to_end(moto_s3, redis_server, postgres, monkeypatch, tmp_path):
    storage = moto_s3.storage()
    prefix = "movie_assets"
    monkeypatch.setenv("MOVIE_ASSETS_ROOT", storage.config.root)
    monkeypatch.setenv("MOVIE_ASSETS_STORAGE_OPTIONS", json.dumps(storage.config.options))
    monkeypatch.setenv("MOVIE_ASSETS_EVENT_LOG", "redis")
    monkeypatch.setenv("MOVIE_ASSETS_REDIS_URL", redis_server.url)
    events = RedisEventLog(storage.movie(MOVIE), redis_server.url, prefix)
    events.client.delete(*events.streams.values())
    store = MovieStore(storage, MOVIE, events)
    store.init(load_builtin("video-audio-music"), {"Title": "Cloud film", "NumOfSegments": 2})

    defs = build_definitions()
    known = set(defs.resolve_asset_graph().get_all_asset_keys())
    overrides = {
        "storage": {
            "postgres": {
                "postgres_db": {
                    "username": "postgres",
                    "password": "",
                    "hostname": "127.0.0.1",
                    "db_name": "postgres",
                    "port": postgres.port,
                    "scheme": "postgresql+psycopg2",
                }
            }
        }
    }
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(overrides=overrides, temp_dir=str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        observe_inputs(instance, store, known)
        run_config = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}
        with dg.execute_job(dg.reconstructable(cloud_job.regenerate_job), instance, run_config=run_config) as result:
            assert result.success
            assert any(e.event_type_value == "STEP_WORKER_STARTED" for e in result.all_events)
        manifest, _ = store.current()
        assert manifest.revision == "rev-0001" and len(manifest.artefacts) == 12
        bucket = storage.root.split("/")[0]
        assert storage.movie(MOVIE).exists("manifests/rev-0001.json") and storage.movie(MOVIE).exists("current.json")
        assert storage.root.startswith(bucket) and storage.config.driver == "s3"
        # rev-0001 consumed every stream entry: archived to S3, then trimmed
        assert storage.movie(MOVIE).exists("events/rev-0001.inputs.jsonl")
        assert events.client.xlen(events.streams["inputs"]) == 0

        # edit -> sensor plan -> run of exactly the dirty assets -> rev-0002
        sensor = defs.resolve_sensor_def("input_log_sensor")
        resources = {"storage": defs.resources["storage"], "events": defs.resources["events"]}
        cursor = json.dumps({MOVIE: manifest.input_cursor})
        # the edit goes through the CLI, configured by the same environment as the Dagster definitions
        edited = CliRunner().invoke(app, ["edit", MOVIE, "SegmentText[1]=The second scene, seen from the clouds."])
        assert edited.exit_code == 0, edited.output
        tick = sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor))
        [request] = tick.run_requests
        for observation in tick.asset_events:
            instance.report_runless_asset_event(observation)
        selected = {"/".join(k.path[1:]) for k in request.asset_selection}
        assert selected == {
            "segment-0001/script",
            "segment-0001/narration",
            "segment-0001/video_prompt",
            "segment-0001/video_clip",
            "timeline",
            "export",
            "manifest",
        }
        assert storage.movie(MOVIE).exists("runs/rev-0002-plan.json")
        with dg.execute_job(
            dg.reconstructable(cloud_job.regenerate_job),
            instance,
            run_config=run_config,
            asset_selection=list(request.asset_selection),
            tags=request.tags,
        ) as result:
            assert result.success
        manifest, _ = store.current()
        assert manifest.revision == "rev-0002"
        assert storage.movie(MOVIE).exists("events/rev-0002.inputs.jsonl")
        assert storage.movie(MOVIE).exists("events/rev-0002.artefacts.jsonl")
        assert events.client.xlen(events.streams["inputs"]) == 0
        # the trimmed history is still complete through the archives on S3
        assert [e.key for e in events.stream_inputs()][-1] == "SegmentText[1]"
        assert instance.get_run_by_id(result.run_id).job_name == regenerate_job_name(MOVIE)
