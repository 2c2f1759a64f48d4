"""What Dagster shows STALE is what the planner would run: after CLI edits and commits, sensor ticks and
runs, runs launched from the UI, and with the sensor off."""

import dagster as dg

from movie_assets.orchestration.keys import input_key, regenerate_job_name
from movie_assets.producers.registry import default_registry

from .partitions import GROUP, MOVIE, Sensor, defs_of, dirty_partitions, run_request, stale_partitions


def _observe_inputs(defs, instance, movie: str | None = MOVIE):
    """An observation of the group's inputs for one movie; with no movie, what "Observe" in the UI
    launches (a run without a partition)."""
    inputs = [key for key in defs.resolve_asset_graph().get_all_asset_keys() if key.path[:2] == [GROUP, "inputs"]]
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(instance=instance, partition_key=movie, asset_selection=inputs)


def _launchpad(defs, instance, movie: str = MOVIE):
    """The regenerate job launched from the Launchpad on one movie's partition."""
    job = defs.resolve_job_def(regenerate_job_name(GROUP))
    return job.execute_in_process(partition_key=movie, instance=instance)


def test_stale_partitions_equal_the_planners_directly_dirty_jobs(root, built, instance, resources):
    store = built
    defs = defs_of(root)
    sensor = Sensor(defs, instance, resources)
    sensor.tick()
    store.edit({"SegmentText[2]": "The third scene, rewritten.", "Style": "noir"})
    sensor.tick()
    planned = dirty_partitions(store)
    assert planned == {("script", MOVIE), ("video_prompt", MOVIE)}
    assert stale_partitions(defs, instance)[0] == planned


def test_staleness_follows_the_planner_through_a_mixed_sequence_with_the_sensor_on_and_off(
    root, built, instance, resources
):
    store = built
    defs = defs_of(root)
    sensor = Sensor(defs, instance, resources)

    def agrees(step: str, dirty: bool) -> None:
        planned = dirty_partitions(store)
        assert bool(planned) == dirty, f"{step}: the planner sees {planned or 'nothing'} dirty"
        assert stale_partitions(defs, instance)[0] == planned, step

    sensor.tick()
    agrees("built by the CLI, mirrored by the sensor", dirty=False)

    store.edit({"SegmentText[1]": "A rewritten second scene."})
    assert _observe_inputs(defs, instance, movie=None).success
    agrees("edited with the sensor off, then observed from the UI", dirty=True)
    assert _observe_inputs(defs, instance).success
    agrees("observed again, nothing moved", dirty=True)

    assert _launchpad(defs, instance).success
    agrees("rebuilt from the Launchpad", dirty=False)

    store.edit({"MusicMood": "tense"})  # the music and the cut: two jobs, not every shot
    assert _launchpad(defs, instance).success
    agrees("edited, never observed, rebuilt from the Launchpad", dirty=False)
    assert sensor.tick().run_requests == []
    agrees("the sensor after a run launched from the UI", dirty=False)

    store.edit({"SegmentText[2]": "The third scene, rewritten."})
    assert len(sensor.tick().run_requests) == 1
    agrees("edited, seen by the sensor", dirty=True)
    store.regenerate(default_registry())
    assert sensor.tick().run_requests == []
    agrees("committed by the CLI before the sensor's run, mirrored", dirty=False)

    store.edit({"SegmentText[0]": "A new first line.", "MusicMood": "playful"})  # one the sensor never saw
    [request] = sensor.tick().run_requests
    agrees("edited twice, seen by the sensor", dirty=True)
    assert run_request(defs, instance, request, resources).success
    agrees("the sensor's run committed", dirty=False)
    assert sensor.tick().run_requests == []
    agrees("the next tick", dirty=False)


def test_observing_a_movie_writes_only_the_inputs_that_moved(root, built, instance, resources):
    store = built
    defs = defs_of(root)
    Sensor(defs, instance, resources).tick()

    def observations(name: str) -> int:
        records = instance.fetch_observations(
            dg.AssetRecordsFilter(asset_key=input_key(GROUP, name), asset_partitions=[MOVIE]), limit=100
        )
        return len(records.records)

    before = {name: observations(name) for name in ("Title", "Style", "SegmentText", "Voice")}
    assert before["Title"] == 1 and before["Style"] == 0, "first sight skips inputs still at their default"
    assert _observe_inputs(defs, instance).success
    assert {name: observations(name) for name in before} == before, "nothing moved, nothing written"
    store.edit({"Style": "noir"})
    assert _observe_inputs(defs, instance).success
    assert {name: observations(name) for name in before} == {**before, "Style": 1}


def test_observe_in_the_ui_observes_every_movie_of_the_blueprint_and_skips_a_broken_one(
    root, storage, store, instance, resources
):
    from movie_assets.movie import MovieStore
    from movie_assets.pipeline.blueprint.load import load_builtin

    from ..helpers import quick

    other = MovieStore(storage, "second-film")
    other.init(load_builtin("video-audio-music"), quick(load_builtin("video-audio-music"), {"NumOfSegments": 2}))
    defs = defs_of(root)
    Sensor(defs, instance, resources).tick()
    store.edit({"Style": "noir"})
    other.edit({"Style": "watercolor"})
    storage.movie("second-film").write_atomic("blueprint.yaml", b"not: [a, blueprint")
    result = _observe_inputs(defs, instance, movie=None)
    assert result.success, "one broken movie does not fail the observation of the others"
    styles = instance.fetch_observations(dg.AssetRecordsFilter(asset_key=input_key(GROUP, "Style")), limit=10).records
    assert {r.asset_observation.partition for r in styles} == {MOVIE}
    assert styles[0].asset_observation.metadata["value"].value == "noir"
