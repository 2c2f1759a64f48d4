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


def test_migrate_never_follows_a_link_out_of_the_legacy_folder(tmp_path):
    legacy = tmp_path / "legacy"
    shutil.copytree(FIXTURE, legacy)
    secret = tmp_path / "outside" / "shadow"
    secret.parent.mkdir()
    secret.write_bytes(b"root:$6$secret-hash:19000:0:99999:7:::\n")
    (legacy / "v1" / "notes.txt").symlink_to(secret)
    (legacy / "v2" / "passwd.txt").symlink_to("/etc/passwd")
    storage = StorageContext(StorageConfig.from_url(str(tmp_path / "builds")))
    report = Migrator(storage.movie("harbour")).migrate(legacy)
    assert len(report.created) == 3
    assert sorted(w.split(":")[0].rsplit("/", 1)[-1] for w in report.warnings) == ["notes.txt", "passwd.txt"]
    assert all("symbolic link, skipped" in w for w in report.warnings)
    fs = storage.movie("harbour")
    stored = [fs.read(rel) for rel in fs.list("blobs")]
    assert secret.read_bytes() not in stored and Path("/etc/passwd").read_bytes() not in stored
    for revision in ManifestService(fs).history():
        assert not any("notes" in a or "passwd" in a for a in ManifestService(fs).load(revision).artefacts)


def test_migrate_killed_between_manifest_and_pointer_finishes_on_rerun(tmp_path, monkeypatch):
    storage = StorageContext(StorageConfig.from_url(str(tmp_path / "builds")))
    fs = storage.movie("harbour")
    swaps = []
    real_swap = type(fs).compare_and_swap

    def dies_on_the_second_swap(self, relative, expected, data):
        swaps.append(relative)
        if len(swaps) == 2:
            raise KeyboardInterrupt("killed between writing rev-0002 and swapping current.json")
        return real_swap(self, relative, expected, data)

    monkeypatch.setattr(type(fs), "compare_and_swap", dies_on_the_second_swap)
    with pytest.raises(KeyboardInterrupt):
        Migrator(fs).migrate(FIXTURE)
    monkeypatch.undo()
    service = ManifestService(fs)
    assert service.load_pointer().revision == "rev-0001" and fs.exists("manifests/rev-0002.json")

    report = Migrator(storage.movie("harbour")).migrate(FIXTURE)
    assert service.load_pointer().revision == "rev-0003", "the rerun completes the migration"
    assert report.created == ["v2 -> rev-0002 (finishing an interrupted migration)", "v10 -> rev-0003"]
    assert service.published() == ["rev-0001", "rev-0002", "rev-0003"]
    assert verify(fs).ok
    again = Migrator(storage.movie("harbour")).migrate(FIXTURE)
    assert again.created == [] and len(again.skipped) == 3
