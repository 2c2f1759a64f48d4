"""Dagster: definitions, in-process materialisation, the input-log sensor, STALE vs planner."""

import json

import dagster as dg
import pytest
from dagster._core.definitions.data_version import DATA_VERSION_TAG, CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

from movie_assets.movie import MovieStore
from movie_assets.orchestration import EventLogResource, StorageResource, build_definitions
from movie_assets.orchestration.keys import input_key, job_key, manifest_key, regenerate_job_name
from movie_assets.orchestration.sensors import observe_inputs
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import make_produce
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext

MOVIE = "demo-film"


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "builds")


@pytest.fixture
def store(root):
    store = MovieStore(StorageContext(StorageConfig(root=root)), MOVIE)
    store.init(load_builtin("video-audio-music"), {"Title": "Dagster film", "NumOfSegments": 3})
    return store


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _defs(root):
    return build_definitions(StorageResource(url=root), EventLogResource())


def _known(defs):
    return set(defs.resolve_asset_graph().get_all_asset_keys())


def _materialize_all(defs, instance, store):
    observe_inputs(instance, store, _known(defs))
    result = defs.resolve_job_def(regenerate_job_name(MOVIE)).execute_in_process(instance=instance)
    assert result.success
    return result


def _stale(defs, instance) -> set[str]:
    graph = defs.resolve_asset_graph()
    resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))
    out = set()
    for key in graph.materializable_asset_keys:
        if key.path[1] not in ("inputs", "manifest") and resolver.get_status(key) == StaleStatus.STALE:
            out.add("/".join(key.path[1:]))
    return out


def test_definitions_match_the_blueprint(root, store):
    defs = _defs(root)
    graph = defs.resolve_asset_graph()
    producer_graph, entries = store.graph()
    assert len(producer_graph.nodes) == 16
    for job_id, node in producer_graph.nodes.items():
        key = job_key(MOVIE, node.path)
        asset = graph.get(key)
        assert asset.code_version == node.version
        expected = {job_key(MOVIE, up.split("/")) for up in node.upstream_jobs}
        expected |= {input_key(MOVIE, r.id) for refs in node.deps.values() for r in refs if r.kind == "input"}
        assert set(asset.parent_keys) == expected, job_id
        assert asset.group_name == "demo_film"
    assert set(graph.get(manifest_key(MOVIE)).parent_keys) == {
        job_key(MOVIE, n.path) for n in producer_graph.nodes.values()
    }
    assert {input_key(MOVIE, k) for k in entries} <= set(graph.get_all_asset_keys())
    assert graph.get(job_key(MOVIE, ["segment-0001", "video_clip"])).parent_keys == {
        job_key(MOVIE, ["segment-0001", "video_prompt"])
    }
    assert [s.name for s in defs.sensors] == ["input_log_sensor"]


def test_materialize_in_process_commits_rev_0001(root, store, instance, monkeypatch):
    monkeypatch.setenv("MOVIE_ASSETS_VIEWER_URL", "http://127.0.0.1:8765/")
    defs = _defs(root)
    result = _materialize_all(defs, instance, store)
    manifest, digest = store.current()
    assert manifest.revision == "rev-0001" and len(manifest.artefacts) == 16
    assert all(store.blobs.has(e.blob.hash) for e in manifest.artefacts.values())
    events = list(store.events.stream_artefacts())
    assert sum(e.status == "succeeded" for e in events) == 16
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert manifest_key(MOVIE) in materialized and len(materialized) == 17
    for job_id, record in manifest.jobs.items():
        event = instance.get_latest_materialization_event(job_key(MOVIE, job_id.split("/")))
        version = event.asset_materialization.tags[DATA_VERSION_TAG]
        assert version == next(iter(record.outputs.values())).hash
        assert event.asset_materialization.metadata["record"].value["inputs_hash"] == record.inputs_hash
        [(artefact_id, _)] = record.outputs.items()
        link = event.asset_materialization.metadata[f"{artefact_id.rsplit('/', 1)[-1]}_in_viewer"].value
        assert link == f"http://127.0.0.1:8765/movies/{MOVIE}/artefacts/{artefact_id}", "Dagster links to the viewer"
    commit = instance.get_latest_materialization_event(manifest_key(MOVIE)).asset_materialization
    assert commit.tags[DATA_VERSION_TAG] == digest and commit.metadata["revision"].value == "rev-0001"
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 16 and all(c.passed for c in checks)
    # the core planner agrees nothing is left to do
    assert store.plan().jobs == []


def test_sensor_requests_exactly_the_dirty_assets(root, store, instance):
    store.regenerate(make_produce())
    defs = _defs(root)
    sensor = defs.resolve_sensor_def("input_log_sensor")
    resources = {"storage": StorageResource(url=root), "events": EventLogResource()}

    first = sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=None))
    assert first.run_requests == []  # all init events are already in rev-0001
    cursor = first.cursor
    assert json.loads(cursor) == {MOVIE: store.events.last_input_id()}

    store.edit({"SegmentText[1]": "A rewritten second scene."})
    tick = sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor))
    [request] = tick.run_requests
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
    assert request.job_name == regenerate_job_name(MOVIE)
    assert request.tags["movie_assets/revision"] == "rev-0002"
    assert "SegmentText[1] changed" in request.tags["movie_assets/why_dirty"]
    assert [o.asset_key for o in tick.asset_events] == [input_key(MOVIE, "SegmentText[1]")]
    assert store.storage.movie(MOVIE).exists("runs/rev-0002-plan.json")

    quiet = sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=tick.cursor))
    assert quiet.run_requests == []

    # running the requested selection publishes rev-0002
    job = defs.resolve_job_def(regenerate_job_name(MOVIE))
    run = job.execute_in_process(instance=instance, asset_selection=request.asset_selection, tags=request.tags)
    assert run.success and store.current()[0].revision == "rev-0002"


def test_manifest_refuses_when_the_base_moved(root, store, instance):
    store.regenerate(make_produce())
    defs = _defs(root)
    store.edit({"Voice": "deep"})
    plan = store.plan()
    store.edit({"Voice": "bright"})
    store.regenerate(make_produce())  # another committer wins
    live = store.manifests.load_current()
    job = defs.resolve_job_def(regenerate_job_name(MOVIE))
    tags = {"movie_assets/base_hash": plan.manifest_base_hash, "movie_assets/revision": str(plan.revision)}
    run = job.execute_in_process(
        instance=instance, asset_selection=[manifest_key(MOVIE)], tags=tags, raise_on_error=False
    )
    assert not run.success
    assert store.manifests.load_current() == live


def test_stale_equals_planner_direct_dirty(root, store, instance):
    defs = _defs(root)
    _materialize_all(defs, instance, store)
    assert _stale(defs, instance) == set()

    store.edit({"SegmentText[2]": "The third scene, rewritten.", "Style": "noir"})
    observe_inputs(instance, store, _known(defs))
    plan = store.plan()
    stale = _stale(defs, instance)
    assert stale == plan.directly_dirty
    assert stale == {"segment-0002/script"} | {f"segment-000{i}/video_prompt" for i in range(3)}
    graph, _ = store.graph()
    assert graph.downstream(stale) == set(plan.job_ids)

    # a producer version bump: Dagster sees a new code version, the planner a new signature
    result = defs.resolve_job_def(regenerate_job_name(MOVIE)).execute_in_process(instance=instance)
    assert result.success and _stale(defs, instance) == set()
    blueprint = store.blueprint()
    data = blueprint.model_dump(by_alias=True)
    data["producers"]["narration"]["version"] = "2"
    store.set_blueprint(type(blueprint).model_validate(data))
    defs = _defs(root)
    plan = store.plan()
    assert _stale(defs, instance) == plan.directly_dirty == {f"segment-000{i}/narration" for i in range(3)}
    assert store.graph()[0].downstream(plan.directly_dirty) == set(plan.job_ids)


def test_early_cutoff_inside_dagster(root, store, instance):
    defs = _defs(root)
    _materialize_all(defs, instance, store)
    calls = []

    def counting():
        inner = make_produce()

        def produce(request):
            calls.append(request.job.job_id)
            return inner(request)

        return produce

    defs = build_definitions(StorageResource(url=root), EventLogResource(), produce_factory=counting)
    keys = [job_key(MOVIE, ["segment-0000", "script"]), job_key(MOVIE, ["segment-0000", "narration"])]
    result = defs.resolve_job_def(regenerate_job_name(MOVIE)).execute_in_process(
        instance=instance, asset_selection=keys
    )
    assert result.success and calls == []  # same signatures: reused, not produced
    events = [e for e in store.events.stream_artefacts() if e.job_id == "segment-0000/narration"]
    assert events[-1].status == "skipped" and events[-1].diagnostics["reused_from"] == "manifest"


def test_sensor_and_schedule_hold_a_plan_whose_provider_is_not_configured(root, instance, monkeypatch):
    for key in ("ELEVENLABS_API_KEY", "MOVIE_ASSETS_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    blueprint = load_builtin("audio-only")
    narration = blueprint.producers["narration"].model_copy(update={"provider": "elevenlabs"})
    blueprint = blueprint.model_copy(update={"producers": {**blueprint.producers, "narration": narration}})
    store = MovieStore(StorageContext(StorageConfig(root=root)), MOVIE)
    store.init(blueprint, {"Title": "Wired", "NumOfSegments": 2})
    defs = _defs(root)  # default producers: credentials from the (empty) environment
    resources = {"storage": StorageResource(url=root), "events": EventLogResource()}
    sensor = defs.resolve_sensor_def("input_log_sensor")
    tick = sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=None))
    assert tick.run_requests == []
    assert "rev-0001 not requested: provider 'elevenlabs' is not configured (set ELEVENLABS_API_KEY)" in (
        tick.skip_reason.skip_message
    )
    assert tick.cursor in (None, "{}"), "the cursor stays put so the edit is planned again once configured"
    [schedule] = [s for s in defs.schedules if s.name.startswith(regenerate_job_name(MOVIE))]
    skipped = schedule(dg.build_schedule_context(instance=instance, resources=resources))
    assert "ELEVENLABS_API_KEY" in skipped.skip_message

    monkeypatch.setenv("MOVIE_ASSETS_OFFLINE", "1")  # explicit offline fallback: the run is requested
    tick = sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=None))
    assert len(tick.run_requests) == 1


def test_loading_the_definitions_prints_no_beta_warning_flood(root, store):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _defs(root)
    assert [str(w.message)[:80] for w in caught if "beta" in str(w.message).lower()] == []


def test_a_reroll_and_a_pin_run_through_dagster_as_they_do_through_the_cli(root, store, instance):
    store.regenerate(make_produce())
    before = store.current()[0]
    store.reroll("music")
    store.override("segment-0001/script/text", b"Words the user wrote.")
    defs = _defs(root)
    _materialize_all(defs, instance, store)
    after, _ = store.current()
    assert after.revision == "rev-0002"
    assert after.artefacts["music/audio"].blob.hash != before.artefacts["music/audio"].blob.hash, "a new take"
    script = after.artefacts["segment-0001/script/text"].blob
    assert store.blobs.get(script) == b"Words the user wrote."
    assert not store.plan().has_changes(), "Dagster committed what the planner expects"
