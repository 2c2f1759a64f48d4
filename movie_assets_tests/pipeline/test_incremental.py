"""Planning only what an edit can reach gives the plan a full pass gives, whatever the edit."""

from __future__ import annotations

import shutil

import pytest

from movie_assets.movie import MovieStore
from movie_assets.pipeline import incremental, planner
from movie_assets.pipeline.blueprint import graph as graph_module
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.store import fold
from movie_assets.store.blobs import blob_path
from movie_assets.store.config import StorageConfig
from movie_assets.store.manifests import ManifestService
from movie_assets.store.storage import StorageContext

from ..helpers import CountingProduce, comparable, full_pass, quick


def _forget() -> None:
    """Empty every in-process cache, so the next plan is a first plan (a full pass over every job)."""
    graph_module._EXPANDED.clear()
    incremental._BASELINES.clear()
    fold._FOLDS.clear()
    planner._TAILS.clear()


def _full_pass(store: MovieStore) -> dict:
    """A plan that decides every job: a graph expanded afresh, no index, no baseline."""
    _forget()
    return full_pass(store)


def _both(store: MovieStore) -> tuple[dict, dict]:
    """The full pass, and the short path as a new process takes it (graph and baseline from the index,
    when the last commit stored them) and as a long-lived one does (baseline noted in memory)."""
    full = _full_pass(store)
    _forget()
    from_index = comparable(store.plan())
    assert incremental.baseline(store.graph()[0], *_live(store)) is not None, "the plan took the short path"
    incremental._BASELINES.clear()
    noted = comparable(store.plan())
    assert from_index == noted, "the stored baseline and a freshly noted one plan alike"
    return full, noted


def _live(store: MovieStore):
    manifest, digest = store.current()
    return manifest, digest


@pytest.fixture(scope="module")
def built_film(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("incremental") / "builds")
    store = MovieStore(StorageContext(StorageConfig(driver="local", root=root)), "film")
    store.init(
        load_builtin("video-audio-music"),
        quick(load_builtin("video-audio-music"), {"Title": "Paths", "NumOfSegments": 3}),
    )
    assert store.regenerate(CountingProduce()).committed
    return root


@pytest.fixture
def film(built_film, local_storage) -> MovieStore:
    """A committed three-segment film: a copy of one build per module, which each test changes at will."""
    shutil.copytree(built_film, local_storage.root)
    return MovieStore(local_storage, "film")


def _delete_output(store: MovieStore, artefact_id: str) -> None:
    manifest, _ = store.current()
    store.fs.delete(blob_path(manifest.artefacts[artefact_id].blob.hash))


EDITS = {
    "nothing": lambda s: None,
    "one segment's text": lambda s: s.edit({"SegmentText[1]": "Rewritten."}),
    "an edit and its undo": lambda s: (s.edit({"SegmentText[2]": "x"}), s.edit({"SegmentText[2]": ""})),
    "a reroll": lambda s: s.reroll("segment-0000/script"),
    "a pinned script": lambda s: s.override("segment-0002/script/text", b"My own words."),
    "an output gone from the store": lambda s: _delete_output(s, "segment-0001/narration/audio"),
    "one more segment": lambda s: s.edit({"NumOfSegments": 4}),
    "a model pick": lambda s: s.edit(
        {"story.model": next(iter(load_builtin("video-audio-music").producers["story"].models))}
    ),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_the_short_path_plans_what_a_full_pass_plans(film, edit):
    EDITS[edit](film)
    full, short = _both(film)
    assert short == full


def test_after_commits_and_reverts_the_short_path_still_agrees(film):
    produce = CountingProduce()
    for edit in ("one segment's text", "a reroll", "a pinned script", "an edit and its undo"):
        EDITS[edit](film)
        full, short = _both(film)
        assert short == full, edit
        outcome = film.regenerate(produce)
        assert outcome.committed or not outcome.plan.has_changes()
    film.unpin("segment-0002/script/text")
    full, short = _both(film)
    assert short == full
    assert "segment-0002/script" in short["reused"], "unpinned, the job's earlier result comes back from the log"


def test_a_manifest_that_does_not_match_its_graph_is_decided_in_full(film):
    """A record the graph does not describe (an older producer version, written by another planner) is decided."""
    manifest, digest = film.current()
    record = manifest.jobs["segment-0001/script"]
    odd = record.replace(producer_version="0", inputs_hash="f" * 64)
    forged = manifest.replace(jobs={**manifest.jobs, "segment-0001/script": odd}, revision=manifest.revision.next())
    ManifestService(film.fs).save_manifest(forged, digest)
    full, short = _both(film)
    assert short == full
    assert "segment-0001/script" in short["reused"], "decided: its real signature is found in the artefact log"


def test_a_commit_stores_its_graph_and_a_fresh_process_plans_from_it_without_expanding(film, monkeypatch):
    film.edit({"SegmentText[0]": "Changed."})
    _forget()
    expected = comparable(film.plan())
    [stored] = film.fs.list("index/graphs")
    _forget()  # as a new process: nothing in memory

    def no_expansion(*args, **kwargs):
        raise AssertionError("the stored graph should have been read, not expanded again")

    monkeypatch.setattr(graph_module._Expander, "node", no_expansion)
    assert comparable(film.plan()) == expected
    assert film.fs.list("index/graphs") == [stored], "planning writes nothing"


def test_an_unreadable_stored_graph_is_ignored_and_expanded_again(film, caplog):
    [stored] = film.fs.list("index/graphs")
    film.fs.write_atomic(stored, b"\x93 not a graph")
    film.edit({"SegmentText[0]": "Changed."})
    _forget()
    with caplog.at_level("WARNING"):
        plan = comparable(film.plan())
    assert "ignoring a derived file" in caplog.text
    assert "segment-0000/script" in [j["job_id"] for layer in plan["layers"] for j in layer]
    film.fs.delete(stored)
    _forget()
    assert comparable(film.plan()) == plan, "the same plan as without any stored graph"


def test_a_stored_graph_with_a_damaged_node_is_ignored_at_load(film, caplog):
    [stored] = film.fs.list("index/graphs")
    data = film.fs.read(stored)
    assert data.count(b"offline") > 1  # a node's provider: the bytes stay valid msgpack, the node does not
    film.fs.write_atomic(stored, data.replace(b"offline", b"offlinE", 1))
    film.edit({"SegmentText[0]": "Changed."})
    _forget()
    with caplog.at_level("WARNING"):
        plan = comparable(film.plan())
    assert "ignoring a derived file that is damaged" in caplog.text
    film.fs.delete(stored)
    _forget()
    assert comparable(film.plan()) == plan, "the same plan as without any stored graph"


def test_a_fresh_process_decodes_only_the_stored_nodes_a_plan_reads(film, monkeypatch):
    from movie_assets.pipeline import graph_index

    film.edit({"SegmentText[1]": "Changed."})
    _forget()
    expected = comparable(film.plan())
    _forget()
    decoded: list[str] = []
    real = graph_index._NODE_DECODER

    class Counting:
        def decode(self, raw):
            node = real.decode(raw)
            decoded.append(node.job_id)
            return node

    monkeypatch.setattr(graph_index, "_NODE_DECODER", Counting())
    assert comparable(film.plan()) == expected
    seen = list(decoded)
    total = len(film.manifest_graph(film.current()[0]).nodes)
    assert seen and len(seen) < total, (len(seen), total)
    assert "segment-0001/script" in seen and "segment-0000/script" not in seen


def test_a_commit_keeps_only_the_graph_of_its_own_shape(film):
    [three] = film.fs.list("index/graphs")
    film.edit({"NumOfSegments": 4})
    assert film.regenerate(CountingProduce()).committed
    [four] = film.fs.list("index/graphs")
    assert four != three, "the new shape's graph replaced the old one"
    film.edit({"SegmentText[0]": "Same shape, new words."})
    assert film.regenerate(CountingProduce()).committed
    assert film.fs.list("index/graphs") == [four]


def test_a_commit_notes_its_baseline_and_a_fresh_process_plans_from_it_without_comparing_every_job(film, monkeypatch):
    _, digest = film.current()
    assert film.fs.list("index/baselines") == [film.graphs.baseline_path(digest)]
    film.edit({"SegmentText[0]": "Changed."})
    expected = _full_pass(film)
    _forget()

    def no_comparison(*args, **kwargs):
        raise AssertionError("the stored baseline should have been read")

    monkeypatch.setattr(incremental, "unmatched_jobs", no_comparison)
    assert comparable(film.plan()) == expected


def test_a_baseline_noted_against_another_shape_or_unreadable_is_noted_again(film, caplog):
    film.edit({"SegmentText[0]": "Changed."})
    expected = _full_pass(film)
    manifest, digest = film.current()
    rel = film.graphs.baseline_path(digest)
    film.fs.delete(rel)
    film.graphs.save_unmatched(digest, ("another", (), (), frozenset()), frozenset())
    _forget()
    assert comparable(film.plan()) == expected
    film.fs.write_atomic(rel, b"\x93 not a baseline")
    _forget()
    with caplog.at_level("WARNING"):
        assert comparable(film.plan()) == expected
    assert "ignoring a derived file" in caplog.text


def test_a_commit_notes_what_its_manifest_does_not_match_and_keeps_only_the_live_baseline(film):
    film.override("segment-0002/script/text", b"My own words.")  # a pinned record never matches a recipe
    assert film.regenerate(CountingProduce()).committed
    manifest, digest = film.current()
    graph = film.manifest_graph(manifest)
    noted = film.graphs.load_unmatched(digest, graph.shape)
    assert noted == incremental.unmatched_jobs(graph, manifest) and "segment-0002/script" in noted
    assert film.fs.list("index/baselines") == [film.graphs.baseline_path(digest)]


def test_a_baseline_read_ahead_is_taken_by_its_manifests_lookup_only(film, monkeypatch):
    manifest, digest = film.current()
    shape = film.manifest_graph(manifest).shape
    noted = film.graphs.load_unmatched(digest, shape)
    assert noted is not None, "the commit noted its baseline"
    reads: list[str] = []
    real = film.graphs._read
    monkeypatch.setattr(film.graphs, "_read", lambda rel, decoder: reads.append(rel) or real(rel, decoder))
    film.graphs.read_ahead(digest)
    assert film.graphs.load_unmatched(digest, shape) == noted and len(reads) == 1, "read once, ahead"
    film.graphs.read_ahead("0" * 64)  # another manifest's: not taken for this one
    assert film.graphs.load_unmatched(digest, shape) == noted and len(reads) == 3


def test_a_plan_where_every_job_is_dirty_is_layered_as_kahn_layers_its_jobs(local_storage):
    from movie_assets.pipeline.blueprint.graph import kahn_layers

    store = MovieStore(local_storage, "fresh")
    store.init(
        load_builtin("video-audio-music"),
        quick(load_builtin("video-audio-music"), {"Title": "All new", "NumOfSegments": 3}),
    )
    for _ in range(2):  # the second plan takes the layers the first one noted for the shape
        plan = store.plan()
        graph = store.graph()[0]
        assert len(plan.jobs) == len(graph.nodes)
        expected = kahn_layers({j: graph.nodes[j].upstream_jobs for j in graph.nodes})
        assert [[job.job_id for job in layer] for layer in plan.layers] == expected
