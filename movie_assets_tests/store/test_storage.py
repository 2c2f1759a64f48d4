import multiprocessing as mp
import os
import time

import pytest

from movie_assets.errors import CasConflict, InvalidId, NotFound
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext

BAD_IDS = ["..", "../x", "a/../../b", "/etc/passwd", "a\x00b", "", ".hidden", "a//b", "C:\\x", "file://x"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_path_traversal_in_relative_paths_is_refused(storage, bad):
    with pytest.raises(InvalidId):
        storage.movie("movie").write_atomic(bad or "", b"x") if bad else storage.movie("movie").resolve("a/")


@pytest.mark.parametrize("bad", ["..", "../m", "a/b", "", "-x", "m\x00", "é", "a" * 200])
def test_path_traversal_in_movie_ids_is_refused(storage, bad):
    with pytest.raises(InvalidId):
        storage.movie(bad).read("current.json")


def test_read_missing_is_not_found(storage):
    with pytest.raises(NotFound):
        storage.movie("m").read("nothing.json")
    assert not storage.movie("m").exists("nothing.json")


def test_write_atomic_and_list(storage):
    storage.movie("m").write_atomic("a/b.json", b"1")
    storage.movie("m").write_atomic("a/b.json", b"2")
    storage.movie("m").write_atomic("c.txt", b"3")
    assert storage.movie("m").read("a/b.json") == b"2"
    assert storage.movie("m").list() == ["a/b.json", "c.txt"]
    assert storage.movie("m").list("a") == ["a/b.json"]
    assert storage.list_movies() == ["m"]


def test_write_if_absent_never_overwrites(storage):
    assert storage.movie("m").write_if_absent("x", b"first") is True
    assert storage.movie("m").write_if_absent("x", b"second") is False
    assert storage.movie("m").read("x") == b"first"


def test_copy_replaces_the_target_with_the_sources_bytes_and_leaves_the_source(storage):
    fs = storage.movie("m")
    body = os.urandom(3 * 1024 * 1024 + 5)  # more than one chunk of a streamed local copy
    fs.write_atomic("blobs/src", body)
    fs.write_atomic("exports/out.wav", b"an older cut")
    fs.copy("blobs/src", "exports/out.wav", len(body))
    fs.copy("blobs/src", "exports/new/out.wav", len(body))  # into a folder that did not exist
    assert fs.read("exports/out.wav") == body and fs.read("exports/new/out.wav") == body
    assert fs.read("blobs/src") == body
    with pytest.raises(NotFound):
        fs.copy("blobs/missing", "exports/other.wav", 1)
    assert not fs.exists("exports/other.wav")


def test_compare_and_swap(storage):
    storage.movie("m").compare_and_swap("cur", None, b"v1")
    with pytest.raises(CasConflict):
        storage.movie("m").compare_and_swap("cur", None, b"v2")
    from movie_assets.store.hashing import sha256_bytes

    storage.movie("m").compare_and_swap("cur", sha256_bytes(b"v1"), b"v2")
    with pytest.raises(CasConflict):
        storage.movie("m").compare_and_swap("cur", sha256_bytes(b"v1"), b"v3")
    assert storage.movie("m").read("cur") == b"v2"


def test_append_line_takes_exactly_the_lines_it_is_told(storage):
    fs = storage.movie("m")
    with pytest.raises(ValueError):
        fs.append_line("log", b"a\nb\n")
    with pytest.raises(ValueError):
        fs.append_line("log", b"no newline")
    with pytest.raises(ValueError):
        fs.append_line("log", b"a\n\n", lines=2)  # an empty line is not a record
    fs.append_line("log", b"a\nb\n", lines=2)
    assert fs.read("log") == b"a\nb\n"


def test_append_cuts_a_torn_tail(local_storage):
    local_storage.movie("m").append_line("log", b"one\n")
    path = local_storage.movie("m").resolve("log")
    with open(path, "ab") as handle:
        handle.write(b'{"torn')
    seen = []
    local_storage.movie("m").append_line("log", lambda last: seen.append(last) or b"two\n")
    assert seen == [b"one"]
    assert local_storage.movie("m").read("log") == b"one\ntwo\n"


def _stage_and_publish(root, i, barrier, results):
    storage = StorageContext(StorageConfig(driver="local", root=root))
    barrier.wait()
    staged = storage.movie("m").stage()
    staged.write(f"writer {i}".encode())
    results.put(staged.publish("race/target"))


def test_create_only_publish_has_one_winner_across_processes(tmp_path):
    root = str(tmp_path / "b")
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(6), ctx.Queue()
    procs = [ctx.Process(target=_stage_and_publish, args=(root, i, barrier, results)) for i in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    outcomes = [results.get(timeout=5) for _ in procs]
    assert outcomes.count(True) == 1
    storage = StorageContext(StorageConfig(driver="local", root=root))
    assert storage.movie("m").read("race/target").startswith(b"writer ")
    assert os.listdir(storage.movie("m").resolve(".staging")) == []


def test_remove_all_takes_the_whole_movie_and_only_it(storage):
    storage.movie("m").write_atomic("a/b.json", b"1")
    storage.movie("m").write_atomic("blobs/ab/x", b"2")
    storage.movie("other").write_atomic("c.txt", b"3")
    storage.movie("m").remove_all()
    assert storage.list_movies() == ["other"] and storage.movie("m").list() == []
    assert storage.movie("other").read("c.txt") == b"3"
    with pytest.raises(NotFound):
        storage.movie("m").remove_all()


def test_deleting_unless_newer_keeps_files_modified_since_the_cutoff_and_reports_gone_ones(storage):
    fs = storage.movie("m")
    names = [f"blobs/a{i % 3}/file-{i}" for i in range(12)]  # more than the local driver's one-by-one batch
    for name in names:
        fs.write_atomic(name, name.encode())
    assert fs.delete_unless_newer(names, cutoff=0.0) == [False] * 12  # all written after the epoch: kept
    assert sorted(fs.list("blobs")) == sorted(names)
    later = max(fs.modified_time(name) for name in names) + 60
    outcomes = fs.delete_unless_newer([*names[:5], "blobs/a0/never-written", *names[5:]], cutoff=later)
    assert outcomes == [True] * 5 + [None] + [True] * 7
    assert fs.list("blobs") == [] and fs.delete_unless_newer([], cutoff=later) == []


def test_deleting_unless_newer_admits_bookkeeping_names_and_refuses_escapes(local_storage):
    fs = local_storage.movie("m")
    fs.write_atomic("blobs/aa/x", b"1")
    debris = "blobs/aa/.x.json.0123.tmp"
    os.makedirs(os.path.dirname(fs.resolve(debris, internal=True)), exist_ok=True)
    with open(fs.resolve(debris, internal=True), "wb") as handle:
        handle.write(b"torn")
    assert fs.delete_unless_newer([debris], cutoff=10**10) == [True]
    with pytest.raises(InvalidId):
        fs.delete_unless_newer(["blobs/../../other/current.json"], cutoff=10**10)
    assert fs.read("blobs/aa/x") == b"1"


def test_deleting_others_keeps_the_named_files_and_files_of_another_kind(storage):
    fs = storage.movie("m")
    for name in ("a.msgpack", "b.msgpack", "c.msgpack", "n.txt"):
        fs.write_atomic(f"index/results/{name}", b"x")
    assert fs.delete_others("index/results", {"index/results/b.msgpack"}, ".msgpack") == 2
    assert fs.list("index/results") == ["index/results/b.msgpack", "index/results/n.txt"]
    assert fs.delete_others("index/absent", set(), ".msgpack") == 0


def test_file_names_lists_every_file_below_a_folder_by_name_only(storage):
    fs = storage.movie("m")
    for name in ["blobs/aa/one", "blobs/bb/two", "blobs/bb/deep/three", "other/four"]:
        fs.write_atomic(name, b"x")
    assert sorted(fs.file_names("blobs")) == ["one", "three", "two"]
    assert fs.file_names("nothing-here") == []


def test_stats_give_size_and_time_of_each_file_and_none_for_a_gone_one(storage):
    fs = storage.movie("m")
    fs.write_atomic("blobs/aa/one", b"12345")
    fs.write_atomic("runs/two.json", b"{}")
    one, gone, two = fs.stats(["blobs/aa/one", "blobs/aa/never", "runs/two.json"])
    assert gone is None
    assert (one.relative, one.size, two.relative, two.size) == ("blobs/aa/one", 5, "runs/two.json", 2)
    assert one.mtime == pytest.approx(fs.modified_time("blobs/aa/one"))
    listed = {stat.relative: stat for stat in fs.scan("")}
    assert listed["blobs/aa/one"].size == one.size and listed["blobs/aa/one"].mtime == pytest.approx(one.mtime)
    assert fs.stats([]) == []
    time.sleep(1.1)  # S3 keeps whole seconds
    fs.touch("blobs/aa/one")  # a dedup hit refreshes a blob's time: stats must see it, as the sweep does
    (touched,) = fs.stats(["blobs/aa/one"])
    assert touched.mtime > one.mtime and touched.mtime == pytest.approx(fs.modified_time("blobs/aa/one"))


def test_reading_from_an_offset_gives_the_rest_of_the_file_and_nothing_at_or_past_its_end(storage):
    fs = storage.movie("m1")
    fs.write_atomic("events/inputs.log", b"one\ntwo\n")
    assert fs.read_from("events/inputs.log", 0) == b"one\ntwo\n"
    assert fs.read_from("events/inputs.log", 4) == b"two\n"
    assert fs.read_from("events/inputs.log", 8) == b""
    assert fs.read_from("events/inputs.log", 100) == b""
    with pytest.raises(NotFound):
        fs.read_from("events/artefacts.log", 0)


def test_a_negative_offset_reads_that_many_bytes_from_the_end_or_the_whole_shorter_file(storage):
    fs = storage.movie("m1")
    fs.write_atomic("events/inputs.log", b"one\ntwo\n")
    assert fs.read_from("events/inputs.log", -4) == b"two\n"
    assert fs.read_from("events/inputs.log", -8) == b"one\ntwo\n"
    assert fs.read_from("events/inputs.log", -1000) == b"one\ntwo\n"
    fs.write_atomic("events/artefacts.log", b"")
    assert fs.read_from("events/artefacts.log", -10) == b""
    with pytest.raises(NotFound):
        fs.read_from("events/missing.log", -10)
