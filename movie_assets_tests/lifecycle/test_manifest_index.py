"""GC reads each manifest's blob references from an index that is trusted only while it matches the
manifest exactly; a stale or damaged index costs time, never a blob."""

from __future__ import annotations

import os

import pytest

import movie_assets.lifecycle.manifest_index as index
from movie_assets.errors import InvalidDocument
from movie_assets.lifecycle.gc import GarbageCollector

from ..helpers import CountingProduce
from .common import small_movie


def test_the_first_collection_writes_an_index_the_next_reads_instead_of_the_manifest(local_storage, monkeypatch):
    store = small_movie(local_storage)
    fs = local_storage.movie("film")
    first = GarbageCollector(fs).mark(cutoff=0)
    assert fs.exists("index/rev-0001.blobs")
    assert store.current()[0].blob_hashes() <= first

    def no_decoding(raw, where):
        raise AssertionError("the index should have answered")

    monkeypatch.setattr(index, "decode_blob_hashes", no_decoding)
    assert GarbageCollector(fs).mark(cutoff=0) == first


@pytest.mark.parametrize("damage", ["rewritten manifest", "truncated index", "foreign bytes", "one hash changed"])
def test_an_index_that_does_not_match_is_ignored_and_rebuilt(local_storage, damage):
    store = small_movie(local_storage)
    fs = local_storage.movie("film")
    expected = GarbageCollector(fs).mark(cutoff=0)
    path = fs.resolve("index/rev-0001.blobs")
    data = open(path, "rb").read()
    first_hash = sorted(expected)[0].encode()
    assert first_hash in data, "the index lists the hashes"
    if damage == "rewritten manifest":  # same bytes, but a new mtime: the index no longer vouches for it
        manifest = fs.resolve("manifests/rev-0001.json")
        os.utime(manifest, (os.path.getmtime(manifest) + 5, os.path.getmtime(manifest) + 5))
        open(path, "wb").write(data.replace(first_hash, b"0" * 64))  # and a wrong hash in it
    elif damage == "truncated index":
        open(path, "wb").write(data[: len(data) // 2])
    elif damage == "foreign bytes":
        open(path, "wb").write(data + b"not-a-hash\n")
    else:  # a well-formed line with another hash: only the body's checksum tells
        open(path, "wb").write(data.replace(first_hash, b"0" * 64))
    assert GarbageCollector(fs).mark(cutoff=0) == expected
    assert store.current()[0].blob_hashes() <= expected


def test_a_manifest_whose_references_cannot_be_read_stops_the_collection(local_storage):
    store = small_movie(local_storage)
    store.edit({"SegmentText[0]": "A second revision."})
    assert store.regenerate(CountingProduce()).committed
    fs = local_storage.movie("film")
    path = fs.resolve("manifests/rev-0001.json")
    data = open(path, "rb").read().replace(b'"hash":"', b'"hash":"zz', 1)
    os.chmod(path, 0o644)
    open(path, "wb").write(data)
    with pytest.raises(InvalidDocument, match="nothing was swept"):
        GarbageCollector(fs).collect(grace_seconds=0, dry_run=True)
