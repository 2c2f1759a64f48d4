"""Log rotation at commit under a process appending as fast as it can: no line lost or duplicated."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time

import pytest

from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.store.config import StorageConfig
from movie_assets.store.events import FileEventLog
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import utc_now
from movie_assets.store.storage import StorageContext

# ---- rotation under a tight appender -----------------------------------------------------------------


def _tight_appender(root: str, options: dict, stop_file: str, acked_file: str) -> None:
    storage = StorageContext(StorageConfig.from_url(root, **options))
    events = FileEventLog(storage.movie("film"))
    with open(acked_file, "w") as acked:
        i = 0
        while not os.path.exists(stop_file):
            event = events.append_input("Title", f"title {i}", "appender")
            acked.write(event.id + "\n")
            acked.flush()
            i += 1


@pytest.mark.parametrize("driver", ["local", "s3"])
def test_rotation_loses_no_line_while_a_process_appends(driver, tmp_path, request):
    if driver == "s3":
        storage = request.getfixturevalue("moto_s3").storage()
    else:
        storage = StorageContext(StorageConfig.from_url(str(tmp_path / "builds")))
    store = MovieStore(storage, "film")
    store.init(load_builtin("audio-only"), {"Title": "Rotation", "NumOfSegments": 1})
    manifests = ManifestService(storage.movie("film"))
    stop, acked = tmp_path / "stop", tmp_path / "acked.txt"
    proc = mp.get_context("spawn").Process(
        target=_tight_appender, args=(storage.config.root, dict(storage.config.options), str(stop), str(acked))
    )
    proc.start()
    try:
        deadline = time.monotonic() + 60
        while (not acked.exists() or not acked.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(50 if driver == "local" else 25):  # each S3 rotation is a dozen requests to moto
            current = manifests.load_current()
            cursor = store.events.last_input_id()
            manifest = current.manifest.replace(
                revision=current.manifest.revision.next(),
                parent=current.manifest.revision,
                parent_hash=current.hash,
                input_cursor=cursor,
                created_at=utc_now(),
            )
            manifests.save_manifest(manifest, current.hash)
            store.events.archive(manifest.revision, cursor, None)
    finally:
        stop.touch()
        proc.join(60)
    assert proc.exitcode == 0
    acknowledged = acked.read_text().split()
    assert len(acknowledged) > 50
    archived: list[str] = []
    live: list[str] = []
    for rel in storage.movie("film").list("events"):
        if rel.endswith(".inputs.jsonl") or rel == "events/inputs.log":
            ids = [json.loads(line)["id"] for line in storage.movie("film").read(rel).decode().splitlines()]
            (live if rel == "events/inputs.log" else archived).extend(ids)
    assert len(archived) == len(set(archived)) and len(live) == len(set(live)), "a line landed in two places"
    # a rotation that consumes every line keeps the newest as the live log's anchor (its first line, with
    # any line appended since after it): nothing else is in both places
    both = set(live) & set(archived)
    assert not both or both == {live[0]} == {max(archived)}, f"live lines also archived: {both}"
    seen = archived + [i for i in live if i not in both]
    init_ids = {e.id for e in store.events.stream_inputs() if e.edited_by == "init"}
    assert set(seen) - init_ids == set(acknowledged), "every acknowledged line is in exactly one place"
    archives = [r for r in storage.movie("film").list("events") if r.endswith(".inputs.jsonl")]
    assert len(archives) >= 10
    ids = [e.id for e in store.events.stream_inputs()]
    assert ids == sorted(ids) and len(ids) == len(seen)
