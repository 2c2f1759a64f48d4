"""The local read-through cache of remote blobs: verified, bounded, shared between processes, never fatal."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys

from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets.store.blob_cache import BlobCache
from movie_assets.store.blobs import BlobStore
from movie_assets.store.storage import StorageContext


def _blob(n: int, size: int = 1000) -> tuple[str, bytes]:
    data = bytes([n % 256]) * size
    return hashlib.sha256(data).hexdigest(), data


def test_a_damaged_copy_is_detected_dropped_and_fetched_again(tmp_path, caplog):
    cache = BlobCache(str(tmp_path / "cache"))
    digest, data = _blob(1)
    cache.put(digest, data)
    assert cache.get(digest) == data
    path = tmp_path / "cache" / digest[:2] / digest
    path.write_bytes(b"not the blob")
    with caplog.at_level(logging.WARNING):
        assert cache.get(digest) is None
    assert not path.exists() and "damaged" in caplog.text


def test_the_cache_stays_within_its_bound_least_recently_used_out(tmp_path):
    cache = BlobCache(str(tmp_path / "cache"), max_bytes=10_000)
    blobs = [_blob(n) for n in range(30)]
    for n, (digest, data) in enumerate(blobs):
        cache.put(digest, data)
        if n >= 1:
            assert cache.get(blobs[0][0]) == blobs[0][1], "the blob read all along stays"
    held = sum(f.stat().st_size for f in (tmp_path / "cache").rglob("*") if f.is_file())
    assert held <= 10_000
    assert cache.get(blobs[-1][0]) is not None and cache.get(blobs[1][0]) is None


def test_two_processes_filling_the_same_blob_leave_one_good_copy(tmp_path):
    digest, data = _blob(7, 4_000_000)
    script = (
        "import sys, hashlib\n"
        "from movie_assets.store.blob_cache import BlobCache\n"
        "data = bytes([7]) * 4_000_000\n"
        "cache = BlobCache(sys.argv[1])\n"
        "for _ in range(20):\n"
        "    cache.put(hashlib.sha256(data).hexdigest(), data)\n"
    )
    folder = str(tmp_path / "cache")
    procs = [subprocess.Popen([sys.executable, "-c", script, folder]) for _ in range(2)]
    assert all(p.wait(60) == 0 for p in procs)
    files = [f for f in (tmp_path / "cache").rglob("*") if f.is_file()]
    assert [f.name for f in files] == [digest], "no temp file left behind"
    assert BlobCache(folder).get(digest) == data


def test_a_cache_folder_that_cannot_be_written_turns_the_cache_off_with_one_warning(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    cache = BlobCache(str(blocked / "blobs"))
    with caplog.at_level(logging.WARNING):
        for n in range(3):
            cache.put(*_blob(n))
    assert not cache.enabled and caplog.text.count("is off for this process") == 1
    assert cache.get(_blob(0)[0]) is None


def test_a_second_export_of_a_movie_on_s3_reads_no_blob_from_s3(moto_s3, tmp_path, monkeypatch):
    remote = moto_s3.storage()
    cache = BlobCache(str(tmp_path / "cache"))
    storage = StorageContext(remote.config, cache)
    store = MovieStore(storage, "film")
    store.init(load_builtin("audio-only"), {"InquiryPrompt": "A fox in the snow", "NumOfSegments": 2})
    assert store.regenerate(default_registry()).committed
    manifest, _ = store.current()
    reads: list[str] = []
    real = type(storage.backend).read

    def counted(self, path):
        reads.append(path)
        return real(self, path)

    monkeypatch.setattr(type(storage.backend), "read", counted)
    fresh = BlobStore(StorageContext(remote.config, BlobCache(str(tmp_path / "cache"))).movie("film"))
    for entry in manifest.artefacts.values():
        assert fresh.get(entry.blob)
    assert [p for p in reads if "/blobs/" in p] == [], "every blob came from the local copy"


def test_settings_give_remote_roots_a_cache_and_local_roots_none(tmp_path, moto_s3):
    from movie_assets.settings import Settings

    local = Settings.load({"MOVIE_ASSETS_ROOT": str(tmp_path / "builds")}).storage()
    assert local.blob_cache is None
    url = f"s3://{moto_s3.new_bucket()}/movies"
    env = {"MOVIE_ASSETS_ROOT": url, "MOVIE_ASSETS_BLOB_CACHE": str(tmp_path / "c")}
    options = {"MOVIE_ASSETS_STORAGE_OPTIONS": __import__("json").dumps(moto_s3.options())}
    remote = Settings.load({**env, **options}).storage()
    assert remote.blob_cache is not None and remote.blob_cache.folder == str(tmp_path / "c")
    off = Settings.load({**env, **options, "MOVIE_ASSETS_BLOB_CACHE": "off"}).storage()
    assert off.blob_cache is None
    assert os.environ.get("MOVIE_ASSETS_BLOB_CACHE"), "the suite keeps its copies out of the user's cache"


def test_a_jobs_inputs_are_fetched_from_s3_at_once_and_the_producer_then_reads_the_cache(
    moto_s3, tmp_path, monkeypatch
):
    import threading
    import time

    remote = moto_s3.storage()
    writer = BlobStore(remote.movie("film"))
    refs = [writer.put(_blob(n)[1], "text/plain") for n in range(12)]
    cache = BlobCache(str(tmp_path / "cache"))
    blobs = BlobStore(StorageContext(remote.config, cache).movie("film"))
    real, lock = type(blobs.fs).read_blob, threading.Lock()
    in_flight, most = [0], [0]

    def slow(self, path):  # a round trip long enough that reads issued together overlap
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.05)
        try:
            return real(self, path)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(type(blobs.fs), "read_blob", slow)
    blobs.prefetch(refs)
    assert most[0] > 1, "the inputs were fetched together, not one after another"
    assert all(cache.holds(ref.hash) for ref in refs)
    misses = cache.misses
    assert [blobs.get(ref) for ref in refs] == [_blob(n)[1] for n in range(12)]
    assert cache.misses == misses, "every read the producer makes is a cache hit"
    blobs.prefetch(refs)
    assert cache.misses == misses, "what the cache holds is not fetched again"
