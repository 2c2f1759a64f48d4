"""A lost current.json or a damaged live manifest: read commands say so, nothing starts a new history,
`verify --repair` makes the movie readable again, and a rollback to an intact revision always works."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.store.manifests import CURRENT, manifest_path

from ..helpers import CountingProduce
from .common import small_movie


def _two_revisions(local_storage):
    store = small_movie(local_storage)
    store.edit({"SegmentText[0]": "A second revision."})
    assert store.regenerate(CountingProduce()).committed
    return store


def _cli(root, *args):
    return CliRunner().invoke(app, ["--root", root, *args])


def test_a_lost_pointer_stops_every_command_until_repair_restores_the_newest_revision(local_storage):
    store = _two_revisions(local_storage)
    live = store.current()[1]
    store.fs.delete(CURRENT)
    root = local_storage.root
    for command in (["status", "film"], ["plan", "film"], ["regenerate", "film", "--yes"], ["gc", "film"]):
        result = _cli(root, *command)
        assert result.exit_code == 2 and "current.json is missing" in result.output, (command, result.output)
    assert not store.fs.exists(CURRENT), "nothing started a new history"
    checked = _cli(root, "verify", "film")
    assert checked.exit_code == 1 and "current.json is missing" in checked.output
    repaired = _cli(root, "verify", "film", "--repair")
    assert repaired.exit_code == 0 and "current.json restored to rev-0002" in repaired.output, repaired.output
    assert store.current()[1] == live
    assert _cli(root, "status", "film").exit_code == 0


def test_a_truncated_live_manifest_is_repaired_by_a_new_revision_and_rollback_still_works(local_storage):
    store = _two_revisions(local_storage)
    path = store.fs.resolve(manifest_path("rev-0002"))
    os.chmod(path, 0o644)
    with open(path, "r+b") as handle:
        handle.truncate(100)
    root = local_storage.root
    assert _cli(root, "status", "film").exit_code == 2
    rolled = _cli(root, "rollback", "film", "rev-0001")
    assert rolled.exit_code == 0 and "rev-0003 published with the content of rev-0001" in rolled.output, rolled.output
    assert str(store.current()[0].revision) == "rev-0003"
    assert _cli(root, "status", "film").exit_code == 0


def test_verify_repair_replaces_a_damaged_live_manifest_with_the_newest_intact_one(local_storage):
    store = _two_revisions(local_storage)
    path = store.fs.resolve(manifest_path("rev-0002"))
    os.chmod(path, 0o644)
    with open(path, "r+b") as handle:
        handle.truncate(100)
    repaired = _cli(local_storage.root, "verify", "film", "--repair")
    assert "rev-0003 published with the content of rev-0001" in repaired.output, repaired.output
    manifest, _ = store.current()
    assert str(manifest.revision) == "rev-0003"
    assert store.fs.exists(f"exports/{manifest.revision}.wav"), "housekeeping ran for the new revision"


def test_a_first_commit_killed_before_its_swap_is_not_a_lost_pointer(local_storage):
    store = small_movie(local_storage)
    store.fs.delete(CURRENT)  # rev-0001 alone, built on nothing: as a first commit killed before its swap
    assert store.current()[1] is None
    assert store.regenerate(CountingProduce()).committed
