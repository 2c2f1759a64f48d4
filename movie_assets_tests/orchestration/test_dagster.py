"""Dagster: blueprints are code, a movie is one partition, the sensor mirrors the store and asks one run per change."""

import warnings

import dagster as dg
import pytest
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from movie_assets.movie import MovieStore
from movie_assets.orchestration.keys import input_key, manifest_key, producer_key
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.pipeline.recorder import data_version_of
from movie_assets.producers.registry import default_registry
from movie_assets.store.storage import StorageContext
from movie_assets_tests.helpers import quick

from .partitions import GROUP, MOVIE, Sensor, defs_of, dirty_partitions, run_request, selected_names, stale_partitions


def test_definitions_are_the_blueprints_and_load_without_listing_the_store(root, monkeypatch):
    def no_listing(self):
        raise AssertionError("definitions must not list the movies")

    monkeypatch.setattr(StorageContext, "list_movies", no_listing)
    defs = defs_of(root)
    graph = defs.resolve_asset_graph()
    assert {key.path[0] for key in graph.get_all_asset_keys()} >= {"audio_only", "image_audio", GROUP}
    clip = graph.get(producer_key(GROUP, "video_clip"))
    assert clip.group_name == GROUP and clip.code_version == "2+model=offline", "version and model choice"
    inputs = {input_key(GROUP, name) for name in ("AspectRatio", "Resolution", "Fps")}
    shot = {producer_key(GROUP, "video_prompt"), producer_key(GROUP, "narration")}  # a shot lasts its narration
    assert set(clip.kinds) == {"video"} and clip.parent_keys == shot | inputs
    assert clip.partitions_def.name == f"{GROUP}_movies", "a movie is one partition, all its segments in it"
    timeline = graph.get(producer_key(GROUP, "timeline"))
    assert isinstance(timeline.partitions_def, dg.DynamicPartitionsDefinition)
    producers = {producer_key(GROUP, n) for n in ("video_clip", "narration", "music", "script", "story")}
    assert {k for k in timeline.parent_keys if "inputs" not in k.path} == producers
    assert graph.get(manifest_key(GROUP)).parent_keys == {producer_key(GROUP, "export")}, "no tangle into manifest"
    script = graph.get(producer_key(GROUP, "script"))
    assert {k.path[-1] for k in script.parent_keys} == {"story", "SegmentText"}
    story = graph.get(producer_key(GROUP, "story"))
    assert story.code_version.startswith("2+model=offline-story;prompt="), "the recipe is the code version"
    assert story.partitions_def.name == f"{GROUP}_movies"
    assert [s.name for s in defs.sensors] == ["movie_sensor"]
    assert f"{GROUP}_regenerate" in {job.name for job in defs.resolve_all_job_defs()}
    assert [s.name for s in defs.schedules] == ["movie_assets_nightly"]
    checks = {key.name for key in graph.get(manifest_key(GROUP)).check_keys}
    assert checks == {"verifies", "final_cut"}


def test_loading_the_definitions_warns_nothing(root):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        defs_of(root)
    assert [str(w.message)[:80] for w in caught if "dagster" in (w.filename or "")] == []


def test_a_movie_built_by_the_cli_shows_as_materialized_and_fresh(root, built, instance, resources, monkeypatch):
    monkeypatch.delenv("MOVIE_ASSETS_VIEWER_URL", raising=False)
    store = built
    defs = defs_of(root)
    tick = Sensor(defs, instance, resources).tick()
    assert tick.run_requests == []
    assert instance.get_dynamic_partitions(f"{GROUP}_movies") == [MOVIE]
    assert not instance.has_dynamic_partition("segment", "0"), "no shared segment dimension: no phantom cells"
    stale, missing = stale_partitions(defs, instance)
    assert stale == set() and missing == set(), "a built movie is neither stale nor never materialized"
    manifest, digest = store.current()
    scripts = [manifest.jobs[f"segment-000{i}/script"] for i in range(3)]
    event = instance.get_latest_data_version_record(producer_key(GROUP, "script"), False, MOVIE)
    materialization = event.asset_materialization
    outputs = {a: b for r in scripts for a, b in r.outputs.items()}
    assert materialization.tags[DATA_VERSION_TAG] == data_version_of(outputs), "one version over every segment"
    meta = materialization.metadata
    rows = meta["segments"].value.records
    assert [r.data["output"] for r in rows] == [f"segment-000{i}/script/text" for i in range(3)]
    assert rows[1].data["sha256"] == outputs["segment-0001/script/text"].hash[:16]
    assert meta["movie_id"].value == MOVIE and len(str(meta)) < 4000, "no multi-KB dumps"
    export = instance.get_latest_data_version_record(producer_key(GROUP, "export"), False, MOVIE)
    exported = export.asset_materialization.metadata
    assert exported["movie_id"].value == MOVIE and "output/movie" in exported, "an output called movie keeps its name"
    commit = instance.get_latest_data_version_record(manifest_key(GROUP), False, MOVIE).asset_materialization
    assert commit.tags[DATA_VERSION_TAG] == digest and commit.metadata["final_cut"].value.endswith("rev-0001.mp4")
    title = instance.fetch_observations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey([GROUP, "inputs", "Title"]), asset_partitions=[MOVIE]), limit=1
    ).records[0]
    assert title.asset_observation.metadata["value"].value == "Dagster film"


def test_an_edit_is_one_run_of_the_dirty_producers_that_commits_like_the_cli(root, built, instance, resources):
    store = built
    defs = defs_of(root)
    sensor = Sensor(defs, instance, resources)
    sensor.tick()
    store.edit({"SegmentText[1]": "A rewritten second scene."})
    planned = dirty_partitions(store)
    tick = sensor.tick()
    [request] = tick.run_requests
    assert request.partition_key == MOVIE
    dirty = {"script", "narration", "video_prompt", "video_clip", "timeline", "export", "manifest"}
    assert selected_names(request) == dirty
    assert request.tags["movie_assets/revision"] == "rev-0002" and request.tags["movie_assets/movie"] == MOVIE
    assert "SegmentText[1] changed" in request.tags["movie_assets/why_dirty"]
    assert stale_partitions(defs, instance)[0] == planned == {("script", MOVIE)}
    assert sensor.tick().run_requests == [], "one request per change"

    result = run_request(defs, instance, request, resources)
    assert result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"verifies": True, "final_cut": True}
    manifest, digest = store.current()
    assert manifest.revision == "rev-0002"
    assert store.fs.exists("exports/rev-0002.mp4"), "a Dagster commit writes the final cut like the CLI"
    assert store.fs.exists("metrics/rev-0002.json") or store.fs.list("metrics")
    assert stale_partitions(defs, instance) == (set(), set())
    assert sensor.tick().run_requests == [] and not store.plan().has_changes()
    commit = instance.get_latest_data_version_record(manifest_key(GROUP), False, MOVIE).asset_materialization
    assert commit.tags[DATA_VERSION_TAG] == digest and commit.metadata["final_cut"].value.endswith("rev-0002.mp4")


def test_a_deployed_version_bump_marks_every_movie_stale_and_materialising_applies_it(
    root, storage, store, instance, resources
):
    other = MovieStore(storage, "second-film")
    other.init(
        load_builtin("video-audio-music"),
        quick(load_builtin("video-audio-music"), {"Title": "Another", "NumOfSegments": 2}),
    )
    for movie in (store, other):
        movie.regenerate(default_registry())
    Sensor(defs_of(root), instance, resources).tick()
    data = load_builtin("video-audio-music").model_dump(by_alias=True)
    data["producers"]["narration"]["version"] = "4"
    bumped = type(store.blueprint()).model_validate(data)
    storage.register_blueprint("video-audio-music", bumped.to_yaml().encode())
    defs = defs_of(root)  # a new deployment of the code location
    stale, _ = stale_partitions(defs, instance)
    assert stale == {("narration", MOVIE), ("narration", "second-film")}
    result = dg.materialize(
        list(defs.assets),
        selection=[producer_key(GROUP, "narration")],
        partition_key=MOVIE,
        instance=instance,
        resources=resources,
    )
    assert result.success
    assert store.blueprint().producers["narration"].version == "4"
    assert ("narration", MOVIE) not in stale_partitions(defs, instance)[0]


def test_new_movies_and_longer_loops_need_no_reload(root, storage, store, instance, resources):
    defs = defs_of(root)
    sensor = Sensor(defs, instance, resources)
    [request] = sensor.tick().run_requests  # never built: every producer, in one run
    assert len(selected_names(request)) == 9 + 1  # every producer and the manifest
    assert run_request(defs, instance, request, resources).success
    store.edit({"NumOfSegments": 4})
    late = MovieStore(storage, "late-film")
    late.init(load_builtin("audio-only"), quick(load_builtin("audio-only"), {"Title": "Late", "NumOfSegments": 1}))
    requests = sensor.tick().run_requests
    assert instance.get_dynamic_partitions("audio_only_movies") == ["late-film"]
    mine = next(r for r in requests if r.tags["movie_assets/movie"] == MOVIE)
    assert mine.partition_key == MOVIE and "video_clip" in selected_names(mine)
    assert run_request(defs, instance, mine, resources).success
    assert len([a for a in store.current()[0].artefacts if a.endswith("/video_clip/video")]) == 4


def test_an_idle_tick_only_compares_fingerprints(root, storage, instance, resources, monkeypatch):
    for i in range(5):
        MovieStore(storage, f"film-{i}").init(load_builtin("audio-only"), {"Title": f"F{i}", "NumOfSegments": 1})
    sensor = Sensor(defs_of(root), instance, resources)
    assert len(sensor.tick().run_requests) == 5

    def no_plan(self, *args, **kwargs):
        raise AssertionError("an unchanged movie must not be planned")

    monkeypatch.setattr(MovieStore, "plan", no_plan)
    assert sensor.tick().run_requests == []


def test_the_manifest_refuses_when_the_base_moved(root, built, instance, resources):
    store = built
    defs = defs_of(root)
    Sensor(defs, instance, resources).tick()
    plan = store.plan()
    store.edit({"Voice": "bright"})
    store.regenerate(default_registry())  # another committer wins
    live = store.manifests.load_current()
    result = dg.materialize(
        list(defs.assets),
        selection=[manifest_key(GROUP)],
        partition_key=MOVIE,
        instance=instance,
        resources=resources,
        tags={"movie_assets/base_hash": plan.manifest_base_hash},
        raise_on_error=False,
    )
    assert not result.success
    assert store.manifests.load_current() == live


def test_an_up_to_date_partition_is_reused_not_produced(root, built, instance, resources):
    calls = []

    def counting():
        inner = default_registry()

        def produce(request):
            calls.append(request.job.job_id)
            return inner(request)

        return produce

    defs = defs_of(root, produce_factory=counting)
    Sensor(defs, instance, resources).tick()
    result = dg.materialize(
        list(defs.assets),
        selection=[producer_key(GROUP, "script"), producer_key(GROUP, "narration")],
        partition_key=MOVIE,
        instance=instance,
        resources=resources,
    )
    assert result.success and calls == []
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "narration"]
    assert event.materialization.metadata["status"].value == "up to date"


def test_the_sensor_holds_a_plan_whose_provider_is_not_configured(root, storage, instance, resources, monkeypatch):
    for key in ("ELEVENLABS_API_KEY", "MOVIE_ASSETS_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    blueprint = load_builtin("audio-only")
    narration = blueprint.producers["narration"].model_copy(update={"model_choice": "elevenlabs"})
    blueprint = blueprint.model_copy(update={"producers": {**blueprint.producers, "narration": narration}})
    MovieStore(storage, MOVIE).init(blueprint, {"Title": "Wired", "NumOfSegments": 2})
    sensor = Sensor(defs_of(root), instance, resources)
    tick = sensor.tick()
    assert tick.run_requests == []
    assert "provider 'elevenlabs' is not configured (set ELEVENLABS_API_KEY)" in tick.skip_reason.skip_message
    # explicit offline fallback: settings are read when the definitions load, so a reloaded code location
    # requests it
    monkeypatch.setenv("MOVIE_ASSETS_OFFLINE", "1")
    assert len(Sensor(defs_of(root), instance, resources).tick().run_requests) == 1


def test_a_reroll_and_a_pin_run_through_dagster_as_through_the_cli(root, built, instance, resources):
    store = built
    before = store.current()[0]
    defs = defs_of(root)
    sensor = Sensor(defs, instance, resources)
    sensor.tick()
    store.reroll("music")
    store.override("segment-0001/script/text", b"Words the user wrote.")
    tick = sensor.tick()
    assert len(tick.run_requests) == 1, tick.skip_reason
    [request] = tick.run_requests
    assert run_request(defs, instance, request, resources).success
    after, _ = store.current()
    assert after.revision == "rev-0002"
    assert after.artefacts["music/audio"].blob.hash != before.artefacts["music/audio"].blob.hash, "a new take"
    assert store.blobs.get(after.artefacts["segment-0001/script/text"].blob) == b"Words the user wrote."
    assert not store.plan().has_changes(), "Dagster committed what the planner expects"


def test_dg_lists_the_blueprints_assets_and_the_sensor(root, tmp_path):
    import json
    import os
    import shutil
    import subprocess
    from pathlib import Path

    dg_cli = shutil.which("dg")
    if dg_cli is None:
        pytest.skip("dagster-dg-cli is not installed")
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [dg_cli, "list", "defs", "--json"],
        cwd=repo,
        env={**os.environ, "MOVIE_ASSETS_ROOT": root},
        capture_output=True,
        timeout=120,
        check=True,
    )
    listed = json.loads(out.stdout)
    narration = next(a for a in listed["assets"] if a["asset_key"] == f"{GROUP}/narration")
    assert narration["kinds"] == ["audio"] and narration["group_name"] == GROUP
    assert [s["name"] for s in listed["sensors"]] == ["movie_sensor"]


def test_a_movie_whose_provider_is_not_configured_is_not_requested_and_the_registry_is_built_once_a_tick(
    storage, root, instance, resources, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.delenv("MOVIE_ASSETS_OFFLINE", raising=False)
    for name in ("gpt-film", "gpt-sequel"):
        MovieStore(storage, name).init(
            load_builtin("video-audio-music"), {"Title": name, "NumOfSegments": 1, "story.model": "gpt-4o"}
        )
    MovieStore(storage, "offline-film").init(
        load_builtin("audio-only"), quick(load_builtin("audio-only"), {"Title": "Offline", "NumOfSegments": 1})
    )
    built = []

    def produce_factory():
        built.append(1)
        return default_registry()

    sensor = Sensor(defs_of(root, produce_factory=produce_factory), instance, resources)
    result = sensor.tick()
    assert [r.tags["movie_assets/movie"] for r in result.run_requests] == ["offline-film"]
    assert len(built) == 1, "one registry for the tick, not one per movie"
    assert sensor.tick().run_requests == [] and len(built) == 2, "the blocked movies are planned again next tick"


def test_a_run_launched_from_the_ui_is_tagged_with_its_movie_and_the_regenerate_job_commits(
    root, built, instance, resources
):
    store = built
    defs = defs_of(root)
    Sensor(defs, instance, resources).tick()
    store.edit({"Voice": "bright"})
    job = defs.resolve_job_def(f"{GROUP}_regenerate")
    result = job.execute_in_process(partition_key=MOVIE, instance=instance, resources=resources)
    assert result.success
    assert instance.get_run_by_id(result.run_id).tags["movie_assets/movie"] == MOVIE
    assert store.current()[0].revision == "rev-0002" and not store.plan().has_changes()


def test_a_step_whose_upstream_is_dirty_fails_with_the_planners_reason_and_publishes_nothing(
    root, built, instance, resources
):
    store = built
    defs = defs_of(root)
    Sensor(defs, instance, resources).tick()
    store.edit({"SegmentText[0]": "A new first line."})
    result = dg.materialize(
        list(defs.assets),
        selection=[producer_key(GROUP, "timeline"), manifest_key(GROUP)],
        partition_key=MOVIE,
        instance=instance,
        resources=resources,
        raise_on_error=False,
    )
    assert not result.success, "never a phantom success"
    failure = " ".join(str(e.event_specific_data.error) for e in result.all_events if e.is_step_failure)
    assert "materialise its upstream" in failure or "producers still dirty" in failure
    assert store.current()[0].revision == "rev-0001"


def test_the_nightly_maintenance_verifies_and_collects_every_movie(root, built, instance, resources):
    defs = defs_of(root)
    result = defs.resolve_job_def("movie_assets_maintenance").execute_in_process(instance=instance, resources=resources)
    assert result.success
