import multiprocessing as mp
import uuid

import pytest

from movie_assets.errors import InvalidDocument, ManifestConflict
from movie_assets.lifecycle.history import history
from movie_assets.store import manifests as manifests_module
from movie_assets.store.config import StorageConfig
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import Manifest, RevisionId
from movie_assets.store.storage import MovieFS, StorageContext


def _manifest(rev: int, tag: str = "") -> Manifest:
    return Manifest(movie_id="m", revision=RevisionId.from_number(rev), created_at=f"t{tag}")


def test_baseline_is_empty_rev_0000(storage):
    current = ManifestService(storage.movie("m")).load_current()
    assert current.manifest.revision == "rev-0000" and current.hash is None
    assert current.manifest.artefacts == {}


def test_save_and_load(storage):
    service = ManifestService(storage.movie("m"))
    pointer = service.save_manifest(_manifest(1), None)
    assert pointer.hash == sha256_bytes(storage.movie("m").read("manifests/rev-0001.json"))
    current = service.load_current()
    assert current.manifest.revision == "rev-0001" and current.hash == pointer.hash
    service.save_manifest(_manifest(2), pointer.hash)
    assert service.history() == ["rev-0001", "rev-0002"]


def test_stale_base_raises_conflict_and_keeps_live_revision(storage):
    service = ManifestService(storage.movie("m"))
    p1 = service.save_manifest(_manifest(1), None)
    service.save_manifest(_manifest(2), p1.hash)
    with pytest.raises(ManifestConflict):
        service.save_manifest(_manifest(3), p1.hash)
    assert service.load_current().manifest.revision == "rev-0002"
    with pytest.raises(ManifestConflict):
        service.save_manifest(_manifest(2, "other"), p1.hash)


def test_corrupted_current_manifest_is_a_clear_error_to_a_process_that_had_not_read_it(storage):
    service = ManifestService(storage.movie("m"))
    service.save_manifest(_manifest(1), None)
    storage.backend.write_atomic(storage.movie("m").resolve("manifests/rev-0001.json"), b'{"movie_id": "m"}')
    manifests_module._PARSED.clear()  # a new process: this one parsed the same bytes in other tests
    with pytest.raises(Exception, match="does not match the hash"):
        service.load_current()
    storage.movie("m").write_atomic("current.json", b"garbage")
    with pytest.raises(InvalidDocument, match="current.json"):
        service.load_current()


def test_a_process_reads_and_hashes_the_live_manifest_once_until_the_pointer_moves(storage, monkeypatch):
    fs = storage.movie("m")
    service = ManifestService(fs)
    tag = uuid.uuid4().hex  # bytes no other test of this process parsed
    first = service.save_manifest(_manifest(1, tag), None)
    loaded = service.load_current()
    read = []
    real = MovieFS.read
    monkeypatch.setattr(MovieFS, "read", lambda self, path: read.append(path) or real(self, path))
    again = service.load_current()
    assert again.manifest is loaded.manifest and again.hash == first.hash
    assert read == ["current.json"], "the pointer names the bytes by hash: they were parsed already"
    second = service.save_manifest(_manifest(2, tag), first.hash)
    assert service.load_current().hash == second.hash
    assert read[-2:] == ["current.json", "manifests/rev-0002.json"]
    assert service.load(RevisionId("rev-0001")) == loaded.manifest, "an unchecked load still reads the file"
    assert read[-1] == "manifests/rev-0001.json"


def _commit(root, tag, base_hash, barrier, results):
    service = ManifestService(StorageContext(StorageConfig(root=root)).movie("m"))
    current = service.load_current()
    barrier.wait()
    try:
        service.save_manifest(_manifest(current.manifest.revision.number + 1, tag), current.hash)
        results.put(("won", tag))
    except ManifestConflict:
        results.put(("conflict", tag))


def test_racing_committers_exactly_one_wins_per_round(tmp_path):
    root = str(tmp_path / "b")
    ctx = mp.get_context("fork")
    service = ManifestService(StorageContext(StorageConfig(root=root)).movie("m"))
    for round_no in range(20):
        barrier, results = ctx.Barrier(2), ctx.Queue()
        base = service.load_current()
        procs = [
            ctx.Process(target=_commit, args=(root, f"{round_no}-{i}", base.hash, barrier, results)) for i in range(2)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        outcomes = sorted(results.get(timeout=5) for _ in procs)
        assert [o[0] for o in outcomes] == ["conflict", "won"], outcomes
        current = service.load_current()
        assert current.manifest.revision.number == round_no + 1
        assert current.manifest.created_at == "t" + next(tag for s, tag in outcomes if s == "won")


def test_a_manifest_orphaned_by_a_dead_committer_does_not_block_the_movie(tmp_path):
    from movie_assets.store.models import Manifest as M

    storage = StorageContext(StorageConfig(root=str(tmp_path / "b")))
    service = ManifestService(storage.movie("m"))
    first = service.save_manifest(M(movie_id="m", revision="rev-0001", created_at="t1"), None)
    # a committer wrote rev-0002 and was killed before swapping current.json
    orphan = M(movie_id="m", revision="rev-0002", parent="rev-0001", created_at="dead")
    storage.movie("m").write_if_absent("manifests/rev-0002.json", orphan.canonical())
    mine = M(movie_id="m", revision="rev-0002", parent="rev-0001", created_at="alive")
    pointer = service.save_manifest(mine, first.hash)
    assert pointer.revision == "rev-0003"
    assert service.load_current().manifest.created_at == "alive"
    assert service.load("rev-0002").created_at == "dead", "the orphan is never overwritten"
    assert service.published() == ["rev-0001", "rev-0003"]
    assert [h.published for h in history(storage.movie("m"))] == [True, False, True]
    # a committer whose base moved still gets a conflict, not a new number
    late = M(movie_id="m", revision="rev-0002", parent="rev-0001", created_at="late")
    with pytest.raises(ManifestConflict):
        service.save_manifest(late, first.hash)
