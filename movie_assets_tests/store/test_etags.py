"""What a process last saw of an S3 object guards its next write (If-Match): one request where nothing
moved, and a version another writer replaced is refused and read again, never written over."""

from __future__ import annotations

import pytest

from movie_assets.errors import CasConflict
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext
from movie_assets_tests.flaky_proxy import FlakyProxy


def _two_processes(moto_s3, endpoint: str) -> tuple[StorageContext, StorageContext, str]:
    bucket = moto_s3.new_bucket()

    def one() -> StorageContext:
        return StorageContext(
            StorageConfig(driver="s3", root=f"s3://{bucket}/movies", options=moto_s3.options(endpoint))
        )

    return one(), one(), f"{bucket}/movies/film/events/inputs.log"


def test_a_read_modify_write_of_what_this_process_last_saw_is_one_put(moto_s3):
    proxy = FlakyProxy(moto_s3.endpoint)
    try:
        ours, _, path = _two_processes(moto_s3, proxy.endpoint)
        backend = ours.backend
        backend.update(path, lambda old: (old or b"") + b"one\n")  # a miss, remembered: one GET, one PUT
        proxy.seen.clear()
        backend.update(path, lambda old: (old or b"") + b"two\n")
        backend.append_line(path, lambda last: b"three\n")
        assert [method for method, _ in proxy.seen] == ["PUT", "PUT"], proxy.seen
        proxy.seen.clear()
        backend.update(f"{path}.seq", lambda old: b"1")
        backend.update(f"{path}.seq", lambda old: b"2")
        assert [method for method, _ in proxy.seen] == ["GET", "PUT", "PUT"], "an absent object is remembered too"
        assert backend.read(path) == b"one\ntwo\nthree\n"
    finally:
        proxy.stop()


def test_a_version_another_process_replaced_is_refused_and_read_again_so_no_change_is_lost(moto_s3):
    ours, theirs, path = _two_processes(moto_s3, moto_s3.endpoint)
    ours.backend.update(path, lambda old: (old or b"") + b"ours 1\n")
    theirs.backend.update(path, lambda old: (old or b"") + b"theirs\n")  # what `ours` saw is now stale
    seen: list[bytes | None] = []

    def add(old: bytes | None) -> bytes:
        seen.append(old)
        return (old or b"") + b"ours 2\n"

    ours.backend.update(path, add)
    assert seen == [b"ours 1\n", b"ours 1\ntheirs\n"], "the stale version was tried, refused, then read"
    assert ours.backend.read(path) == b"ours 1\ntheirs\nours 2\n"
    with pytest.raises(CasConflict):  # `theirs` last saw its own write: its check passes, the server refuses
        theirs.backend.compare_and_swap(path, lambda now: now == b"ours 1\ntheirs\n", b"never written")
    assert theirs.backend.read(path) == b"ours 1\ntheirs\nours 2\n"


def test_an_object_another_process_deleted_is_written_afresh_not_refused(moto_s3):
    ours, theirs, path = _two_processes(moto_s3, moto_s3.endpoint)
    ours.backend.update(path, lambda old: (old or b"") + b"before\n")
    theirs.backend.delete(path)  # say, the movie deleted and made again: S3 answers If-Match with 404
    ours.backend.update(path, lambda old: (old or b"") + b"after\n")
    assert ours.backend.read(path) == b"after\n"
