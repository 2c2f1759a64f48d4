"""The regeneration loop end to end on the real offline producers."""

import pytest

from movie_assets.errors import ManifestConflict
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.pipeline.runner import Runner

from ..helpers import CountingProduce, quick

# The pipeline's logic is the same on every driver, so each test runs on a local root; those whose path
# differs on a remote one (outputs stored while producers go on, progress saved behind, conditional writes,
# listings, copies made in place) run on S3 as well.
LOCAL = pytest.mark.parametrize("storage", ["local"], indirect=True)
ALSO_ON_S3 = pytest.mark.parametrize("storage", ["local", "s3"], indirect=True)
SEG1_CHAIN = ["segment-0001/narration", "segment-0001/script", "segment-0001/video_clip", "segment-0001/video_prompt"]


def _movie(storage, blueprint="video-audio-music", **inputs) -> MovieStore:
    store = MovieStore(storage, "film")
    store.init(load_builtin(blueprint), quick(load_builtin(blueprint), {"Title": "Test", "NumOfSegments": 3, **inputs}))
    return store


def _blobs_of(manifest):
    return {a: e.blob.hash for a, e in manifest.artefacts.items()}


@ALSO_ON_S3
def test_first_second_and_one_segment_edit(storage):
    store = _movie(storage)
    produce = CountingProduce()
    first = store.regenerate(produce)
    assert first.committed and first.pointer.revision == "rev-0001"
    rev1, _ = store.current()
    graph_jobs = {j.job_id for j in first.plan.jobs}
    assert len(graph_jobs) == 17 and set(rev1.jobs) == graph_jobs  # the story, then 4 jobs x 3 segments, then 4
    assert len(rev1.artefacts) == 16 + 5 and all(store.blobs.has(h) for h in _blobs_of(rev1).values())
    assert rev1.timeline is not None and {t.kind for t in rev1.timeline.tracks} == {"video", "audio", "music"}
    assert storage.movie("film").exists("prompts/segment/segment-0002/video.txt")
    script = rev1.artefacts["segment-0002/script/text"].blob
    assert storage.movie("film").read("artifacts/text/segment-0002/script/text.txt") == store.blobs.get(script.hash)
    assert not storage.movie("film").exists("artifacts/text/segment-0002/video_prompt/prompt.txt"), (
        "prompts go to prompts/"
    )
    assert storage.movie("film").exists("runs/rev-0001-plan.json") and storage.movie("film").exists(
        "runs/rev-0001-progress.json"
    )

    produce.reset()
    second = store.regenerate(produce)
    assert second.plan.jobs == [] and not second.committed and produce.calls == {}
    assert store.manifests.history() == ["rev-0001"]

    store.edit({"SegmentText[1]": "The second segment, rewritten."})
    third = store.regenerate(produce)
    assert sorted(third.plan.job_ids) == sorted(SEG1_CHAIN + ["timeline", "export"])
    assert sorted(produce.calls) == sorted(SEG1_CHAIN + ["timeline", "export"])
    assert third.pointer.revision == "rev-0002"
    rev2, _ = store.current()
    changed = {a for a in rev2.artefacts if _blobs_of(rev2)[a] != _blobs_of(rev1)[a]}
    assert changed == {
        f"{j}/{o}"
        for j, o in [
            ("segment-0001/script", "text"),
            ("segment-0001/narration", "audio"),
            ("segment-0001/video_prompt", "prompt"),
            ("segment-0001/video_clip", "video"),
            ("timeline", "timeline"),
            ("export", "movie"),
        ]
    }
    # every other artefact of rev-0002 is the very blob of rev-0001 (dedup, nothing rewritten)
    assert {a: h for a, h in _blobs_of(rev2).items() if a not in changed} == {
        a: h for a, h in _blobs_of(rev1).items() if a not in changed
    }


@LOCAL
def test_reasons_and_direct_flags(storage):
    store = _movie(storage, "audio-only")
    store.regenerate(CountingProduce())
    store.edit({"Voice": "bright"})
    plan = store.plan()
    direct = {j.job_id: j.reasons for j in plan.jobs if j.direct}
    assert set(direct) == {f"segment-000{i}/narration" for i in range(3)}
    assert direct["segment-0000/narration"] == ["input Voice changed"]
    assert {j.job_id for j in plan.jobs if not j.direct} == {"timeline", "export"}


def test_a_collector_names_the_members_it_gains_and_loses(local_storage):
    store = _movie(local_storage, "audio-only")
    store.regenerate(CountingProduce())
    store.edit({"NumOfSegments": 2})
    [timeline] = [j for j in store.plan().jobs if j.job_id == "timeline"]
    # the story is retold for two segments, so its lines and what they feed are upstream-dirty too
    assert timeline.reasons[0] == "dependency segment-0002/narration/audio removed" and timeline.direct
    store.edit({"NumOfSegments": 4})
    [timeline] = [j for j in store.plan().jobs if j.job_id == "timeline"]
    assert timeline.reasons[0] == "artefact segment-0003/narration/audio added to narrations"
    assert "segment-0003/narration" in timeline.reasons[1]


def test_a_job_downstream_of_many_dirty_jobs_names_the_first_ten_and_counts_the_rest(local_storage):
    store = _movie(local_storage, "audio-only", NumOfSegments=12)
    store.regenerate(CountingProduce())
    store.edit({f"SegmentText[{i}]": f"New line {i}." for i in range(12)})
    [timeline] = [j for j in store.plan().jobs if j.job_id == "timeline"]
    first_ten = ", ".join(f"segment-{i:04d}/narration" for i in range(10))
    assert timeline.reasons == [f"upstream dirty: {first_ten} and 2 more"] and not timeline.direct


@ALSO_ON_S3
def test_failed_producer_publishes_nothing_and_rerun_reuses_successes(storage):
    store = _movie(storage, "audio-only")
    produce = CountingProduce(fail_once={"segment-0002/narration"})
    outcome = store.regenerate(produce)
    assert not outcome.committed and outcome.run.failed == ["segment-0002/narration"]
    skipped = sorted(j for j, r in outcome.run.results.items() if r.status == "skipped")
    assert skipped == ["export", "timeline"]
    assert store.manifests.load_current().hash is None  # nothing published
    assert not storage.movie("film").exists("current.json")
    first_calls = dict(produce.calls)
    assert "timeline" not in first_calls

    produce.reset()
    retry = store.regenerate(produce)
    assert retry.committed and retry.pointer.revision == "rev-0001"
    assert sorted(produce.calls) == ["export", "segment-0002/narration", "timeline"]
    assert sum(produce.calls.values()) == 3
    # failure after a published revision leaves that revision live
    store.edit({"Voice": "calm"})
    produce = CountingProduce(fail_always={"segment-0000/narration"})
    before = store.manifests.load_current().hash
    assert not store.regenerate(produce).committed
    assert store.manifests.load_current().hash == before


@LOCAL
def test_base_moved_between_plan_and_run_is_refused(storage):
    store = _movie(storage, "audio-only")
    store.regenerate(CountingProduce())
    store.edit({"Topic": "a different story"})
    plan = store.plan()
    store.edit({"Voice": "calm"})
    assert store.regenerate(CountingProduce()).committed  # someone else publishes rev-0002
    live = store.manifests.load_current()
    produce = CountingProduce()
    with pytest.raises(ManifestConflict, match="moved"):
        Runner(storage.movie("film"), store.events, produce).execute(plan)
    assert produce.calls == {}
    assert store.manifests.load_current() == live


@ALSO_ON_S3
def test_a_run_keeps_its_index_up_with_what_it_logged(storage):
    """The index a run consults answers for the run's own results, as the artefact log does."""
    store = _movie(storage, "audio-only")
    plan = store.plan()
    index = store.succeeded_index()
    run = Runner(storage.movie("film"), store.events, CountingProduce(), index=index).execute(plan)
    assert run.succeeded and run.results
    for job_id, result in run.results.items():
        record = result.record
        assert index.lookup(job_id, record.inputs_hash, record.outputs) == record.outputs, job_id


@ALSO_ON_S3
def test_commit_conflict_when_base_moves_during_run(storage):
    store = _movie(storage, "audio-only")
    store.regenerate(CountingProduce())
    store.edit({"Topic": "first"})
    plan = store.plan()
    run = store.run(plan, CountingProduce())
    store.edit({"Topic": "second"})
    store.regenerate(CountingProduce())
    with pytest.raises(ManifestConflict):
        store.commit(run)
    assert store.current()[0].revision == "rev-0002"


@LOCAL
def test_early_cutoff_identical_bytes_stop_propagation(storage):
    store = _movie(storage, "audio-only", SegmentText=["Hello there.", "", ""])
    store.regenerate(CountingProduce())
    # trailing spaces change the input hash but the script producer strips them: identical bytes
    store.edit({"SegmentText[0]": "Hello there.   "})
    plan = store.plan()
    assert sorted(plan.job_ids) == ["export", "segment-0000/narration", "segment-0000/script", "timeline"]
    produce = CountingProduce()
    outcome = store.regenerate(produce)
    assert list(produce.calls) == ["segment-0000/script"]
    assert outcome.committed
    assert {r.status for j, r in outcome.run.results.items() if j != "segment-0000/script"} == {"reused"}


@LOCAL
def test_segments_three_to_four_reruns_the_story_and_only_what_its_changed_lines_feed(storage):
    store = _movie(storage)
    store.regenerate(CountingProduce())
    before, _ = store.current()
    store.edit({"NumOfSegments": 4})
    produce = CountingProduce()
    outcome = store.regenerate(produce)
    after, _ = store.current()
    lines = [f"story/NarrationScript[{i}]" for i in range(4)]
    same = [a for a in lines[:3] if after.artefacts[a].blob.hash == before.artefacts[a].blob.hash]
    assert same == lines[:2], "the arc is stretched over four segments: the third line changes, a fourth is new"
    chain = [c.replace("0001", f"000{i}") for i in (2, 3) for c in SEG1_CHAIN]
    assert sorted(produce.calls) == sorted(["story", *chain, "timeline", "export"]), (
        "segments 0 and 1 and the music are reused: their inputs hash the same (early cutoff)"
    )
    timeline = next(j for j in outcome.plan.jobs if j.job_id == "timeline")
    assert timeline.direct and any("added" in r for r in timeline.reasons)
    assert len(after.jobs) == 17 + 4


@LOCAL
def test_shrinking_then_growing_reuses_from_the_log(storage):
    store = _movie(storage, "audio-only")
    store.regenerate(CountingProduce())
    store.edit({"NumOfSegments": 2})
    shrink = store.regenerate(CountingProduce())
    assert shrink.plan.removed == ["segment-0002/narration", "segment-0002/script"]
    store.edit({"NumOfSegments": 3})
    produce = CountingProduce()
    grow = store.regenerate(produce)
    # the three-segment story, segment 3's jobs and rev-0001's timeline/export come back from the
    # artefact log: nothing runs
    assert produce.calls == {} and grow.committed
    assert {"story", "segment-0002/narration", "segment-0002/script", "timeline", "export"} <= set(grow.plan.reused)


@LOCAL
def test_producer_version_bump_reruns_that_producer(storage):
    store = _movie(storage, "audio-only")
    store.regenerate(CountingProduce())
    bp = load_builtin("audio-only")
    data = bp.model_dump(by_alias=True)
    version = data["producers"]["music"]["version"]
    data["producers"]["music"]["version"] = str(int(version) + 1)
    store.set_blueprint(type(bp).model_validate(data))
    plan = store.plan()
    assert plan.directly_dirty == {"music"}
    reasons = [f"producer version {version} -> {int(version) + 1}"]
    assert next(j for j in plan.jobs if j.job_id == "music").reasons == reasons


@LOCAL
def test_concurrency_cap_is_respected(storage):
    store = _movie(storage, "image-audio", NumOfSegments=4)
    produce = CountingProduce()
    store.regenerate(produce, concurrency=2)
    assert produce.peak <= 2
    assert sum(produce.calls.values()) == 1 + 4 * 5 + 2  # the story, five jobs a segment, timeline and export


@ALSO_ON_S3
def test_crashed_run_resumes_from_progress(storage):
    store = _movie(storage, "audio-only")
    plan = store.plan(save=True)

    class Crash(BaseException):
        pass

    def crash_on_timeline(request):
        if request.job.job_id == "timeline":
            raise Crash()
        return CountingProduce()(request)

    with pytest.raises(Crash):
        store.run(plan, crash_on_timeline)
    progress = store.plans.load_progress(plan.revision)
    assert progress.completed_layers >= 2
    produce = CountingProduce()
    run = store.run(store.plans.load(plan.revision), produce)
    assert run.succeeded and sorted(produce.calls) == ["export", "timeline"]
    store.commit(run)


@ALSO_ON_S3
def test_unknown_edit_keys_are_refused_and_nothing_is_logged(storage):
    from movie_assets.errors import BlueprintError

    store = _movie(storage, "audio-only")
    before = list(store.events.stream_inputs())
    with pytest.raises(BlueprintError):
        store.edit({"Voice": "shouting"})
    with pytest.raises(BlueprintError):
        store.edit({"SegmentText[x]": "a"})
    assert list(store.events.stream_inputs()) == before


@ALSO_ON_S3
def test_readable_copies_mirror_the_live_revision(storage):
    store = _movie(storage)
    store.regenerate(CountingProduce())
    script_file, prompt_file = "artifacts/text/segment-0001/script/text.txt", "prompts/segment/segment-0001/video.txt"
    original = storage.movie("film").read(script_file), storage.movie("film").read(prompt_file)
    live = store.current()[0].artefacts
    assert original[0] == store.blobs.get(live["segment-0001/script/text"].blob)

    store.edit({"SegmentText[1]": "A scene that fails to render."})
    failed = store.regenerate(CountingProduce(fail_always={"segment-0001/video_clip"}))
    assert not failed.committed
    assert (storage.movie("film").read(script_file), storage.movie("film").read(prompt_file)) == original, "unpublished"

    store.edit({"SegmentText[1]": "A different second scene."})
    store.regenerate(CountingProduce())
    assert storage.movie("film").read(script_file) == b"A different second scene."
    assert storage.movie("film").read(prompt_file) != original[1]

    store.edit({"SegmentText[1]": ""})  # back to the first (default) text: every result is reused
    produce = CountingProduce()
    assert store.regenerate(produce).committed and produce.calls == {}
    assert (storage.movie("film").read(script_file), storage.movie("film").read(prompt_file)) == original


@LOCAL
def test_a_new_plan_never_resumes_a_failed_run_of_other_inputs(storage):
    """A failed run leaves progress for rev-0002; after another edit the next plan has the same revision
    number and base but other inputs, and must not take the failed run's results by job id."""
    store = _movie(storage, "audio-only")
    store.regenerate(CountingProduce())
    store.edit({"SegmentText[1]": "First try."})
    assert not store.regenerate(CountingProduce(fail_always={"timeline"})).committed
    store.edit({"SegmentText[1]": "Second try."})
    produce = CountingProduce()
    assert store.regenerate(produce).committed
    manifest, _ = store.current()
    assert store.blobs.get(manifest.artefacts["segment-0001/script/text"].blob) == b"Second try."
    assert produce.calls["segment-0001/script"] == 1


@ALSO_ON_S3
def test_a_stored_blueprint_is_parsed_once_per_content(storage, monkeypatch):
    from movie_assets.pipeline.blueprint import load as load_module

    store = _movie(storage, "audio-only", NumOfSegments=2)
    parsed = []

    def counted(real):
        def parse(*args, **kwargs):
            found = real(*args, **kwargs)
            parsed.extend([found] if found is not None else [])
            return found

        return parse

    monkeypatch.setattr(load_module, "load_blueprint", counted(load_module.load_blueprint))
    load_module._STORED.clear()
    first = store.blueprint()
    assert store.blueprint() is first and store.plan() and len(parsed) == 1
    data = first.model_dump(by_alias=True)
    data["producers"]["music"]["version"] = "9"
    store.set_blueprint(type(first).model_validate(data))
    assert store.blueprint().producers["music"].version == "9" and len(parsed) == 2


def test_values_committed_under_the_same_blueprint_are_not_checked_again_but_an_edit_is(local_storage, monkeypatch):
    from movie_assets.pipeline import planner

    store = _movie(local_storage, "audio-only", NumOfSegments=2, Title="Checked once")
    assert store.regenerate(CountingProduce()).committed
    checked: list[set[str]] = []
    real = planner._normalise

    def counting(blueprint, values):
        checked.append(set(values))
        return real(blueprint, values)

    monkeypatch.setattr(planner, "_normalise", counting)
    monkeypatch.setattr(planner, "_CHECKED", type(planner._CHECKED)(8))  # as in a fresh process
    assert store.plan().jobs == []
    assert checked == [], "the live manifest's values were normalised when its plan was made"
    store.edit({"SegmentText[1]": "A new line"})
    dirty = store.plan()
    assert checked and all(keys == {"SegmentText[1]"} for keys in checked), "only the edit is checked"
    assert "SegmentText[1]" in dirty.changed_inputs


@LOCAL
def test_a_stored_value_the_applied_blueprint_no_longer_accepts_is_refused_by_the_next_plan(storage):
    from movie_assets.errors import BlueprintError

    store = _movie(storage, "audio-only", NumOfSegments=2)
    assert store.regenerate(CountingProduce()).committed
    assert store.plan() is not None  # the live manifest's values, checked once for this blueprint
    data = store.blueprint().model_dump(by_alias=True)
    data["inputs"]["NumOfSegments"].update(max=1, default=1)  # the live revision has 2
    store.set_blueprint(type(store.blueprint()).model_validate(data))
    with pytest.raises(BlueprintError, match=r"NumOfSegments.*above the maximum 1"):
        store.plan()
