import subprocess
import sys
import textwrap

import pytest

from movie_assets.errors import BlobIntegrityError, BlobNotFound, StorageError
from movie_assets.store.blobs import BlobStore, blob_path
from movie_assets.store.hashing import sha256_bytes


def test_put_dedups_identical_bytes(storage):
    blobs = BlobStore(storage.movie("m"))
    a = blobs.put(b"hello", "text/plain")
    b = blobs.put(b"hello", "text/plain")
    assert a == b and a.hash == sha256_bytes(b"hello") and a.size == 5
    assert storage.movie("m").list("blobs") == [blob_path(a.hash)]
    assert blobs.get(a) == b"hello"
    assert blobs.has(a.hash)


def test_a_dedup_hit_is_freshened_under_the_gc_lock_unless_a_sweep_keeps_it_anyway(storage, monkeypatch):
    blobs = BlobStore(storage.movie("m"))
    ref = blobs.put(b"the story's second line", "text/plain")
    locks: list[str] = []
    real = type(blobs.fs).lock

    def counted(self, relative, *args, **kwargs):
        locks.append(relative)
        return real(self, relative, *args, **kwargs)

    monkeypatch.setattr(type(blobs.fs), "lock", counted)
    assert blobs.put(b"the story's second line", "text/plain") == ref and len(locks) == 1, "freshened"
    assert blobs.put(b"the story's second line", "text/plain", marked=frozenset({ref.hash})) == ref
    assert len(locks) == 1, "an input of the job: no lock, no touch"


def test_put_stream(storage):
    import io

    data = bytes(range(256)) * 20_000
    ref = BlobStore(storage.movie("m")).put(io.BytesIO(data))
    assert ref.hash == sha256_bytes(data) and ref.size == len(data)
    assert b"".join(BlobStore(storage.movie("m")).open(ref)) == data


def _corrupt(storage, path):
    data = bytearray(storage.movie("m").read(path))
    data[0] ^= 0xFF
    storage.backend.write_atomic(storage.movie("m").resolve(path), bytes(data))


def test_flipped_byte_fails_loudly(storage):
    blobs = BlobStore(storage.movie("m"))
    ref = blobs.put(b"precious bytes")
    _corrupt(storage, blob_path(ref.hash))
    with pytest.raises(BlobIntegrityError, match="corrupted"):
        blobs.get(ref)
    with pytest.raises(BlobIntegrityError):
        b"".join(blobs.open(ref))
    with pytest.raises(BlobIntegrityError):
        blobs.verify(ref.hash)


def test_missing_and_malformed_hashes(storage):
    blobs = BlobStore(storage.movie("m"))
    with pytest.raises(BlobNotFound):
        blobs.get("0" * 64)
    with pytest.raises(ValueError):
        blobs.get("../../etc/passwd")


def test_512_mib_stream_is_stored_with_flat_memory(tmp_path):
    """A 512 MiB stream put through BlobStore must not grow the process beyond a few chunks."""
    script = textwrap.dedent(
        f"""
        import hashlib, resource
        from movie_assets.store.blobs import BlobStore
        from movie_assets.store.storage import StorageConfig, StorageContext

        class Stream:
            def __init__(self, total): self.left, self.h = total, hashlib.sha256()
            def read(self, n):
                n = min(n, self.left); self.left -= n
                chunk = bytes([self.left % 251]) * n
                self.h.update(chunk); return chunk

        def rss_mib(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        before = rss_mib()
        stream = Stream(512 * 1024 * 1024)
        ref = BlobStore(StorageContext(StorageConfig(root={str(tmp_path)!r})).movie("m")).put(stream)
        assert ref.hash == stream.h.hexdigest() and ref.size == 512 * 1024 * 1024
        print(before, rss_mib())
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    before, after = map(float, out.split())
    assert after - before < 64, f"peak RSS grew by {after - before:.0f} MiB while storing 512 MiB"


def test_present_answers_for_stored_blobs_only(storage):
    blobs = BlobStore(storage.movie("m"))
    kept, gone = blobs.put(b"kept"), blobs.put(b"gone")
    storage.movie("m").delete(blob_path(gone.hash))
    with blobs.fs.lock("blobs/gc"):  # leaves a lock file beside the blob folders
        present = blobs.present()
    assert kept.hash in present and gone.hash not in present
    assert sha256_bytes(b"never stored") not in present


class _Stingy:
    """A staged file that takes at most a few bytes a write, as a file on a filling disk may."""

    def __init__(self, handle, most):
        self._handle, self._most = handle, most

    def write(self, data):
        return self._handle.write(bytes(data[: self._most])) and min(len(data), self._most)

    def __getattr__(self, name):
        return getattr(self._handle, name)


def test_a_staged_file_that_takes_part_of_each_write_still_stores_every_byte(local_storage, monkeypatch):
    backend = local_storage.backend
    original = backend.stage_open
    monkeypatch.setattr(backend, "stage_open", lambda staging: _Stingy(original(staging), 7))
    monkeypatch.setattr(
        backend, "stage_publish", lambda handle, path: type(backend).stage_publish(backend, handle._handle, path)
    )
    blobs = BlobStore(local_storage.movie("m"))
    data = bytes(range(256)) * 40
    ref = blobs.put(data)
    assert blobs.get(ref) == data and ref.size == len(data)


def test_a_staged_file_that_takes_nothing_is_a_full_disk(local_storage, monkeypatch):
    backend = local_storage.backend
    original = backend.stage_open
    monkeypatch.setattr(backend, "stage_open", lambda staging: _Stingy(original(staging), 0))
    monkeypatch.setattr(backend, "stage_discard", lambda handle: type(backend).stage_discard(backend, handle._handle))
    with pytest.raises(StorageError, match="No space left on device"):
        BlobStore(local_storage.movie("m")).put(b"anything")
    assert local_storage.movie("m").list(".staging", hidden=True) == [], "nothing staged is left behind"


def _age_folders(root: str, seconds: float) -> None:
    """Stamp every folder below `root` (and itself) `seconds` in the past, as a store untouched that long."""
    import os
    import time

    stamp = time.time() - seconds
    for folder, _, _ in os.walk(root):
        os.utime(folder, (stamp, stamp))


def _counting_scandir(monkeypatch) -> list[str]:
    import os

    from movie_assets.store import local

    listed, real = [], os.scandir
    monkeypatch.setattr(local.os, "scandir", lambda path: listed.append(path) or real(path))
    return listed


def test_a_settled_blob_folder_is_listed_once_and_every_later_change_is_seen(local_storage, monkeypatch):
    blobs = BlobStore(local_storage.movie("m"))
    first = {blobs.put(f"blob {i}".encode()).hash for i in range(40)}
    root = local_storage.movie("m").resolve("blobs")
    _age_folders(root, 60)
    listed = _counting_scandir(monkeypatch)
    assert blobs.present() == first
    assert listed, "the first listing reads the folders"
    listed.clear()
    assert blobs.present() == first and listed == [], "settled folders unchanged since: nothing listed again"

    added = blobs.put(b"one more").hash  # lands in a settled folder (or makes a new one): its mtime moves
    gone = sorted(first)[0]
    local_storage.movie("m").delete(blob_path(gone))
    assert blobs.present() == (first | {added}) - {gone}
    assert len(listed) <= 3, f"only the folders that changed are listed again: {listed}"


def test_a_folder_changed_within_the_settling_time_is_listed_every_time(local_storage, monkeypatch):
    """A file system stamps times in ticks: a folder touched in the last seconds may change again without
    its mtime moving, so its listing is never kept."""
    blobs = BlobStore(local_storage.movie("m"))
    stored = {blobs.put(f"blob {i}".encode()).hash for i in range(5)}
    listed = _counting_scandir(monkeypatch)
    assert blobs.present() == stored
    count = len(listed)
    assert blobs.present() == stored and len(listed) == 2 * count, "fresh folders are listed again"


def test_temp_file_names_never_repeat_across_threads_or_a_forked_child():
    """Staged blobs and atomic writes take their temp names from a per-process prefix, the pid and a
    counter; a forked child keeps the prefix and the counter, so the pid must tell them apart."""
    import os
    import threading

    from movie_assets.store.local import unique_name

    names: list[str] = []
    threads = [threading.Thread(target=lambda: names.extend(unique_name() for _ in range(2000))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's names go back through the pipe
        os.write(write, "\n".join(unique_name() for _ in range(2000)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        theirs = pipe.read().split("\n")
    ours = [unique_name() for _ in range(2000)]
    assert len(set(names)) == len(names) == 8000
    assert len(set(ours + theirs + names)) == 12000, "the child made a name the parent makes"
