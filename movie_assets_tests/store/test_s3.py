"""S3 driver specifics against moto's server over real HTTP on loopback."""

import json
import multiprocessing as mp
import subprocess
import sys
import textwrap
import time

import pytest

from movie_assets.errors import ConditionalWritesUnsupported, ManifestConflict, StorageError
from movie_assets.lifecycle.gc import GarbageCollector
from movie_assets.store.blobs import BlobStore, blob_path
from movie_assets.store.config import StorageConfig
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import Manifest, RevisionId
from movie_assets.store.storage import StorageContext

from ..flaky_proxy import Fault, FlakyProxy


@pytest.fixture
def proxy(moto_s3):
    proxy = FlakyProxy(moto_s3.endpoint)
    yield proxy
    proxy.stop()


def _manifest(rev: int, tag: str = "") -> Manifest:
    return Manifest(movie_id="m", revision=RevisionId.from_number(rev), created_at=f"t{tag}")


def test_bucket_names_are_validated():
    with pytest.raises(StorageError, match="invalid S3 bucket name"):
        StorageContext(StorageConfig(driver="s3", root="s3://ab/prefix"))


def test_large_blob_streams_in_multipart_chunks_with_bounded_memory(moto_s3):
    storage = moto_s3.storage(part_size=str(5 * 1024 * 1024), whole_put_max=str(5 * 1024 * 1024))
    script = textwrap.dedent(
        f"""
        import hashlib, resource
        from movie_assets.store.blobs import BlobStore
        from movie_assets.store.storage import StorageConfig, StorageContext
        class Stream:
            def __init__(self, total): self.left, self.h = total, hashlib.sha256()
            def read(self, n):
                n = min(n, self.left); self.left -= n
                chunk = bytes([self.left % 253]) * n
                self.h.update(chunk); return chunk
        storage = StorageContext(StorageConfig(driver="s3", root={storage.config.root!r},
                                               options={storage.config.options!r}))
        rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        BlobStore(storage.movie("m")).put(b"warm up the client")
        before = rss()
        stream = Stream(96 * 1024 * 1024)
        ref = BlobStore(storage.movie("m")).put(stream)
        assert ref.hash == stream.h.hexdigest()
        print(ref.hash, before, rss())
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    blob_hash, before, after = out[0], float(out[1]), float(out[2])
    assert after - before < 48, f"RSS grew {after - before:.0f} MiB for a 96 MiB blob"
    info = storage.backend.call(
        "head_object", Bucket=storage.root.split("/")[0], Key=f"movies/m/{blob_path(blob_hash)}"
    )
    assert "-" in info["ETag"], "expected a multipart ETag"
    assert info["ContentLength"] == 96 * 1024 * 1024
    assert BlobStore(storage.movie("m")).has(blob_hash)


def test_a_blob_up_to_whole_put_max_is_one_create_only_put_beyond_a_part(moto_s3):
    storage = moto_s3.storage(part_size=str(5 * 1024 * 1024), whole_put_max=str(16 * 1024 * 1024))
    blobs = BlobStore(storage.movie("m"))
    data = bytes(range(256)) * (36 * 1024)  # 9 MiB: more than a part
    ref = blobs.put(data)
    info = storage.backend.call("head_object", Bucket=storage.root.split("/")[0], Key=f"movies/m/{blob_path(ref.hash)}")
    assert "-" not in info["ETag"] and info["ContentLength"] == len(data), "one PUT, not parts"
    assert blobs.put(data) == ref and blobs.get(ref) == data


def _commit_rounds(root, options, worker, rounds, ready, go, results):
    """One racing process: each round, once the test says `ready`, read the pointer as a new process would,
    wait for the other racer (`go`), and commit on what it read."""
    for round_no in range(rounds):
        ready.wait()
        service = ManifestService(StorageContext(StorageConfig(driver="s3", root=root, options=options)).movie("m"))
        current = service.load_current()
        go.wait()
        tag = f"{round_no}-{worker}"
        try:
            service.save_manifest(_manifest(current.manifest.revision.number + 1, tag), current.hash)
            results.put(("won", tag))
        except ManifestConflict:
            results.put(("conflict", tag))


def test_racing_committers_on_s3_exactly_one_wins(moto_s3):
    storage = moto_s3.storage()
    ctx = mp.get_context("spawn")
    service = ManifestService(storage.movie("m"))
    rounds, last = 8, 0
    ready, go, results = ctx.Barrier(3), ctx.Barrier(2), ctx.Queue()
    args = (storage.config.root, storage.config.options)
    procs = [ctx.Process(target=_commit_rounds, args=(*args, i, rounds, ready, go, results)) for i in range(2)]
    for p in procs:
        p.start()
    try:
        for round_no in range(rounds):
            ready.wait(timeout=60)
            outcomes = sorted(results.get(timeout=60) for _ in procs)
            assert [o[0] for o in outcomes] == ["conflict", "won"], outcomes
            live = service.load_current().manifest
            assert live.created_at == f"t{outcomes[1][1]}", "the winner's revision is the live one"
            # usually the next number; the next free one when the loser wrote its create-only file first
            assert live.revision.number in (last + 1, last + 2), (round_no, live.revision)
            last = live.revision.number
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()


def test_transient_errors_are_retried(moto_s3, proxy):
    storage = moto_s3.storage(endpoint=proxy.endpoint)
    proxy.faults.append(Fault("PUT", "/blobs/", "before", 503, times=2))
    ref = BlobStore(storage.movie("m")).put(b"survives two 503s")
    assert BlobStore(storage.movie("m")).get(ref) == b"survives two 503s"
    assert len([i for i in proxy.injected if "/blobs/" in i]) == 2


def test_lost_response_on_a_conditional_put_is_not_a_false_conflict(moto_s3, proxy):
    storage = moto_s3.storage(endpoint=proxy.endpoint)
    service = ManifestService(storage.movie("m"))
    first = service.save_manifest(_manifest(1), None)
    # the PUT reaches S3, but the client sees a 503 and retries: the retry answers 412
    proxy.faults.append(Fault("PUT", "/current.json", "after", 503, times=1))
    pointer = service.save_manifest(_manifest(2), first.hash)
    assert any("after 503 PUT" in i for i in proxy.injected)
    assert service.load_current().hash == pointer.hash
    with pytest.raises(ManifestConflict):
        service.save_manifest(_manifest(3), first.hash)


def test_a_sweep_whose_batch_delete_keeps_failing_is_one_storage_error_and_keeps_the_blobs(moto_s3, proxy):
    storage = moto_s3.storage(endpoint=proxy.endpoint, retries=2)
    refs = [BlobStore(storage.movie("m")).put(f"orphan {i}".encode()) for i in range(3)]
    proxy.faults.append(Fault("POST", "?delete", "before", 500, times=10))  # DeleteObjects, and its retries
    collector = GarbageCollector(storage.movie("m"), clock=lambda: time.time() + 7200)
    with pytest.raises(StorageError, match="deleting 3 files under"):
        collector.collect(grace_seconds=3600)
    assert any("POST" in i and "?delete" in i for i in proxy.injected)
    assert all(BlobStore(storage.movie("m")).has(ref.hash) for ref in refs)
    proxy.faults.clear()
    assert collector.collect(grace_seconds=3600).files_freed == 3  # the next run sweeps them


def test_backend_without_conditional_writes_fails_loudly(moto_s3, proxy):
    storage = moto_s3.storage(endpoint=proxy.endpoint)
    proxy.faults.append(Fault("PUT", "/manifests/", "before", 501, times=10, header="If-None-Match"))
    with pytest.raises(ConditionalWritesUnsupported, match="lock_url"):
        ManifestService(storage.movie("m")).save_manifest(_manifest(1), None)
    with pytest.raises(ConditionalWritesUnsupported):
        moto_s3.storage(conditional_writes="false")


def test_redis_lock_replaces_conditional_writes(moto_s3, redis_server):
    storage = moto_s3.storage(conditional_writes="false", lock_url=redis_server.url)
    service = ManifestService(storage.movie("m"))
    first = service.save_manifest(_manifest(1), None)
    with pytest.raises(ManifestConflict):
        service.save_manifest(_manifest(2), None)
    service.save_manifest(_manifest(2), first.hash)
    assert storage.movie("m").write_if_absent("x", b"1") and not storage.movie("m").write_if_absent("x", b"2")


def test_the_test_s3_server_lets_exactly_one_of_racing_conditional_puts_win(moto_s3, monkeypatch):
    """The contract every S3 test leans on: real S3 makes If-Match atomic, and so must the test server.

    moto stores an object a step after checking its ETag; a slower store step (patched in, the server runs
    in this process) makes the window wide enough that a server without atomic writes lets several through."""
    import threading
    import time

    import boto3
    from moto.s3.models import S3Backend

    store = S3Backend.put_object

    def slow_store(self, *args, **kwargs):
        time.sleep(0.02)
        return store(self, *args, **kwargs)

    monkeypatch.setattr(S3Backend, "put_object", slow_store)
    bucket = moto_s3.new_bucket()
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    clients = [boto3.client("s3", endpoint_url=moto_s3.endpoint, **keys) for _ in range(4)]
    clients[0].put_object(Bucket=bucket, Key="k", Body=b"0")
    for round_ in range(5):
        etag = clients[0].head_object(Bucket=bucket, Key="k")["ETag"]
        barrier = threading.Barrier(len(clients))
        wins = []

        def racer(client, n, etag=etag, barrier=barrier, wins=wins, round_=round_):
            barrier.wait()
            try:
                client.put_object(Bucket=bucket, Key="k", Body=f"{round_}-{n}".encode(), IfMatch=etag)
                wins.append(n)
            except client.exceptions.ClientError:
                pass

        threads = [threading.Thread(target=racer, args=(c, n)) for n, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1, f"round {round_}: {len(wins)} conditional writers won on one ETag"


def test_a_lease_lasts_the_lock_ttl_option_and_a_dead_holders_expired_lease_is_broken(moto_s3):
    storage = moto_s3.storage(lock_ttl="5")
    backend, path = storage.backend, f"{storage.root}/film/blobs/gc.lock"
    with backend.lock(path):
        body, _ = backend._get(f"{path}.lock")
        assert 0 < json.loads(body)["expires"] - time.time() <= 5, "the lease names when it expires"
    assert backend._get(f"{path}.lock") is None, "released on exit"
    # a holder that died: its lease expired a second ago
    backend.write_if_absent(f"{path}.lock", json.dumps({"token": "dead", "expires": time.time() - 1}).encode())
    with backend.lock(path, timeout=10):
        held = json.loads(backend._get(f"{path}.lock")[0])
        assert held["token"] != "dead", "the expired lease was broken and taken"


def test_a_lease_held_past_half_its_ttl_is_released_only_if_it_is_still_the_holders(moto_s3):
    storage = moto_s3.storage(lock_ttl="1")
    backend, path = storage.backend, f"{storage.root}/film/blobs/gc.lock"
    other = json.dumps({"token": "other", "expires": time.time() + 60}).encode()
    with backend.lock(path):
        time.sleep(0.6)  # past half the ttl: another holder may have broken it by its clock
        backend.write_atomic(f"{path}.lock", other)  # ... and it did
    assert backend._get(f"{path}.lock")[0] == other, "the other holder's lease is left alone"


def test_a_regenerate_writes_its_run_records_and_lets_go_of_the_gc_lock_beside_what_follows(proxy, moto_s3):
    from movie_assets.movie import MovieStore
    from movie_assets.pipeline.blueprint.load import load_builtin

    from ..helpers import CountingProduce, quick

    storage = moto_s3.storage(endpoint=proxy.endpoint)
    store = MovieStore(storage, "film")
    blueprint = load_builtin("audio-only")
    store.init(blueprint, quick(blueprint, {"Title": "Test", "NumOfSegments": 2}))
    assert store.regenerate(CountingProduce()).committed
    store.edit({"SegmentText[0]": "A lighthouse wakes."})
    arrived: dict[tuple[str, str], float] = {}

    class Timed(list):  # when each request reached the proxy
        def append(self, request):
            arrived.setdefault((request[0], request[1].split("?")[0]), time.monotonic())
            super().append(request)

    proxy.seen = Timed()
    proxy.delay = 0.2
    assert store.regenerate(CountingProduce()).committed
    proxy.delay = 0
    released = [i for i, (method, path) in enumerate(proxy.seen) if method == "DELETE" and "gc.lock" in path]
    swapped = [i for i, (method, path) in enumerate(proxy.seen) if method == "PUT" and "current.json" in path]
    assert len(released) == 1 and released[0] > swapped[0]
    assert not store.fs.exists("blobs/gc.lock"), "released by the time the commit returned"
    revision = store.current()[0].revision
    assert store.fs.exists(f"logs/{revision}.log") and store.fs.exists(f"runs/{revision}-progress.json")
    [logged] = [t for (method, path), t in arrived.items() if method == "PUT" and path.endswith(f"{revision}.log")]
    records = ("/runs/", "/logs/")
    beside = [p for (_, p), t in arrived.items() if abs(t - logged) < 0.1 and not any(r in p for r in records)]
    assert beside, "the commit's first request goes out beside the run log, not a round trip after it"
    with store.fs.lock("blobs/gc.lock"):  # and free: taken at once
        pass


def test_a_streamed_read_starts_a_ranged_get_where_it_seeks_and_an_absent_object_fails_on_open(moto_s3):
    from movie_assets.errors import NotFound

    files = moto_s3.storage().movie("m")
    data = bytes(range(256)) * 1000
    files.write_atomic("clip.bin", data)
    with files.open_read("clip.bin") as handle:
        assert handle.read(10) == data[:10]
        handle.seek(250_000)
        assert handle.read(100) == data[250_000:250_100] and handle.tell() == 250_100
        handle.seek(5)
        assert handle.read() == data[5:]
        handle.seek(len(data) + 10)
        assert handle.read(5) == b"", "past the end reads nothing, as a file does"
    with pytest.raises(NotFound):
        files.open_read("absent.bin")


def test_an_object_beyond_one_copy_request_is_copied_whole_in_ranged_parts(moto_s3, monkeypatch):
    import os

    from movie_assets.store import s3

    storage = moto_s3.storage(part_size=str(5 * 1024 * 1024))
    monkeypatch.setattr(s3, "MAX_COPY", 1024 * 1024)  # stands for S3's 5 GiB limit of one CopyObject
    blobs = BlobStore(storage.movie("m"))
    data = os.urandom(12 * 1024 * 1024)
    ref = blobs.put(data)
    blobs.copy_to(ref, "exports/copy.bin")
    assert storage.movie("m").read("exports/copy.bin") == data
    info = storage.backend.call("head_object", Bucket=storage.root.split("/")[0], Key="movies/m/exports/copy.bin")
    assert info["ETag"].strip('"').endswith("-3"), "three ranged part copies of 5, 5 and 2 MiB"
