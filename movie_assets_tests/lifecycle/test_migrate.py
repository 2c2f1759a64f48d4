"""Migration of the legacy folder layout into manifests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from movie_assets.errors import MigrationError
from movie_assets.lifecycle.history import diff, verify
from movie_assets.lifecycle.migrate import Migrator
from movie_assets.store.blobs import BlobStore
from movie_assets.store.config import StorageConfig
from movie_assets.store.manifests import ManifestService
from movie_assets.store.storage import StorageContext

FIXTURE = Path(__file__).parents[1] / "fixtures" / "legacy-film"


# ---- migration ---------------------------------------------------------------------------------------


def test_migrate_legacy_fixture_and_rerun_changes_nothing(tmp_path):
    storage = StorageContext(StorageConfig.from_url(str(tmp_path / "builds")))
    report = Migrator(storage.movie("harbour")).migrate(FIXTURE)
    assert report.created == ["v1 -> rev-0001", "v2 -> rev-0002", "v10 -> rev-0003"]
    service = ManifestService(storage.movie("harbour"))
    v3 = service.load("rev-0003")
    assert v3.parent == "rev-0002" and v3.inputs["SegmentText[2]"].value == "Night falls."
    blobs = BlobStore(storage.movie("harbour"))
    for track in v3.timeline.tracks:
        for clip in track.clips:
            name = clip.artefact_id.split("/", 1)[1]
            assert clip.blob.hash == v3.artefacts[clip.artefact_id].blob.hash
            assert blobs.get(clip.blob) == (FIXTURE / "v10" / name).read_bytes()
    assert verify(storage.movie("harbour")).ok

    before = {(s.relative, s.size, s.mtime) for s in storage.movie("harbour").scan(hidden=True)}
    again = Migrator(storage.movie("harbour")).migrate(FIXTURE)
    assert again.created == [] and len(again.skipped) == 3 and again.blobs_stored == 0
    assert {(s.relative, s.size, s.mtime) for s in storage.movie("harbour").scan(hidden=True)} == before

    d = diff(storage.movie("harbour"), "rev-0001", "rev-0002")
    assert d.changed == ["legacy/narration-1.wav", "legacy/timeline"] and not d.added and not d.removed


def test_migrate_refuses_urls_outside_the_revision_folder(tmp_path):
    legacy = tmp_path / "legacy"
    shutil.copytree(FIXTURE, legacy)
    timeline = json.loads((legacy / "v2" / "timeline.json").read_text())
    timeline["tracks"][0]["clips"][0]["url"] = "../v1/image-0.png"
    (legacy / "v2" / "timeline.json").write_text(json.dumps(timeline))
    storage = StorageContext(StorageConfig.from_url(str(tmp_path / "builds")))
    with pytest.raises(MigrationError, match="outside its revision folder"):
        Migrator(storage.movie("harbour")).migrate(legacy)
    assert ManifestService(storage.movie("harbour")).history() == [], "a bad folder publishes nothing"
