"""Checkpoints bound what planning reads and keep the newest results per job."""

from __future__ import annotations

from movie_assets.lifecycle.checkpoints import Checkpoints, checkpoint_path

from ..helpers import CountingProduce
from .common import small_movie

# ---- checkpoints -------------------------------------------------------------------------------------


def test_checkpoints_bound_what_planning_reads(local_storage, monkeypatch):
    store = small_movie(local_storage, segments=1)
    store.checkpoints = Checkpoints(local_storage.movie("film"), every=5, per_job=100)
    for i in range(12):
        store.edit({"SegmentText[0]": f"take {i}"})
        assert store.regenerate(CountingProduce()).committed
    assert store.current()[0].revision == "rev-0013"
    for rev in ("rev-0005", "rev-0010"):
        assert local_storage.movie("film").exists(checkpoint_path("artefacts", rev))
    assert not local_storage.movie("film").exists(checkpoint_path("artefacts", "rev-0015"))
    assert store.checkpoints.latest("artefacts") == "rev-0010"

    # the checkpointed index is what replaying the whole history gives (per-job bound not reached)
    replay: dict = {}
    for event in store.events.stream_artefacts():
        if event.status == "succeeded" and event.output:
            replay.setdefault((event.job_id, event.inputs_hash), {})[event.artefact_id] = event.output
    via_checkpoint = Checkpoints(local_storage.movie("film"), per_job=100).index(store.events)
    assert via_checkpoint == replay

    reads: list[str] = []
    original = local_storage.backend.read

    def counting_read(path):
        reads.append(path)
        return original(path)

    monkeypatch.setattr(local_storage.backend, "read", counting_read)
    store.plan()
    archives_read = [r for r in reads if r.endswith(".artefacts.jsonl")]
    assert len(archives_read) <= 4, archives_read  # revisions after rev-0010 (+1 boundary), not all 13


def test_checkpoint_per_job_bound_keeps_newest(local_storage):
    store = small_movie(local_storage, segments=1)
    for i in range(6):
        store.edit({"SegmentText[0]": f"take {i}"})
        assert store.regenerate(CountingProduce()).committed
    bounded = Checkpoints(local_storage.movie("film"), per_job=2).index(store.events)
    per_job: dict[str, int] = {}
    for job, _ in bounded:
        per_job[job] = per_job.get(job, 0) + 1
    assert max(per_job.values()) == 2
    newest = store.current()[0].jobs["segment-0000/narration"].inputs_hash
    assert ("segment-0000/narration", newest) in bounded


def test_plans_share_the_results_index_until_the_artefact_log_grows(local_storage, monkeypatch):
    store = small_movie(local_storage, segments=1)
    built: list[str | None] = []
    original = Checkpoints._stored

    def counting(self, events, last_id, names):
        built.append(last_id)
        return original(self, events, last_id, names)

    monkeypatch.setattr(Checkpoints, "_stored", counting)
    first = store.events.last_artefact_id()
    store.edit({"SegmentText[0]": "a new line"})
    assert store.plan().job_ids == store.plan().job_ids
    assert built == [], "both plans reuse the index the commit stored and kept in memory"

    assert store.regenerate(CountingProduce()).committed  # logs the results of "a new line"
    store.edit({"SegmentText[0]": "another line"})
    assert store.regenerate(CountingProduce()).committed
    store.edit({"SegmentText[0]": "a new line"})  # back: its results are in the log, after the first index
    plan = store.plan()
    assert built[-1] == store.events.last_artefact_id() != first, "a grown log is read again"
    assert plan.reused and not plan.jobs, "the results logged since the first index are found and reused"


def test_the_index_stops_at_the_newest_id_read_before_it(local_storage):
    store = small_movie(local_storage, segments=1)
    events = list(store.events.stream_artefacts())
    upto = events[len(events) // 2]
    index = Checkpoints(local_storage.movie("film"), per_job=100).index(store.events, upto=upto.id)
    expected = {(e.job_id, e.inputs_hash) for e in events[: len(events) // 2 + 1] if e.status == "succeeded"}
    assert set(index) == expected and len(expected) < len({(e.job_id, e.inputs_hash) for e in events})


def test_results_logged_after_the_shared_index_win_over_it_and_leave_it_unchanged(local_storage):
    store = small_movie(local_storage, segments=1)
    job, signature = "segment-0000/narration", store.current()[0].jobs["segment-0000/narration"].inputs_hash
    shared_before = store.succeeded_index()
    kept = shared_before.lookup(job, signature, ["segment-0000/narration/audio"])
    assert kept is not None
    changed = next(iter(kept.values())).replace(size=1)
    index = store.succeeded_index()
    index.add_outputs(job, signature, {"segment-0000/narration/audio": changed, "segment-0000/narration/x": changed})
    both = ["segment-0000/narration/audio", "segment-0000/narration/x"]
    assert index.lookup(job, signature, both) == {a: changed for a in both}
    assert store.succeeded_index().lookup(job, signature, ["segment-0000/narration/audio"]) == kept
    assert store.succeeded_index().lookup(job, signature, both) is None
