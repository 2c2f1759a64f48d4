"""Property-based bad input: corrupted logs, manifests, pointers and config, hostile ids. Every case is
a clear error (exit code 2, or 1 from verify with its list of problems), never a traceback, and the
live revision never changes on an error."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.errors import StorageError
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets.store.blobs import BlobStore
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext
from movie_assets_tests.helpers import quick

MOVIE = "film"
TARGETS = ["events/inputs.log", "events/artefacts.log", "manifests/rev-0001.json", "current.json", "blueprint.yaml"]
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
payloads = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: (json.dumps(v) + "\n").encode() * 2),
    # a valid-looking line with one field broken
    st.sampled_from([b'{"id": "000000000001", "key": 3}\n', b'{"revision": "rev-01"}', b"\xff\xfe\x00\n", b""]),
)
hostile_ids = st.one_of(
    st.sampled_from(["..", "../x", "a/b", "/etc", "a\x00b", ".hidden", "x" * 300, "ẞtraße", "con:1", " ", "a\\b"]),
    st.text(min_size=1, max_size=12),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("template") / "builds"
    store = MovieStore(StorageContext(StorageConfig.from_url(str(root))), MOVIE)
    store.init(
        load_builtin("audio-only"), quick(load_builtin("audio-only"), {"Title": "Bad input", "NumOfSegments": 1})
    )
    assert store.regenerate(default_registry()).committed
    store.edit({"SegmentText[0]": "a pending edit"})
    return root


def invoke(root: Path, *args: str):
    return CliRunner().invoke(app, ["--root", str(root), *args])


def assert_clean(result) -> None:
    """No traceback: either success or a handled exit with a message."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"unhandled {type(result.exception).__name__}: {result.exception}\n{result.output}")
    if result.exit_code not in (0, 1, 2):
        raise AssertionError(f"exit code {result.exit_code}: {result.output}")
    if result.exit_code:
        assert result.output.strip(), "an error must say what is wrong"


@SETTINGS
@given(target=st.sampled_from(TARGETS), data=payloads)
def test_corrupted_store_files_give_clear_errors(template, tmp_path_factory, target, data):
    root = tmp_path_factory.mktemp("case") / "builds"
    shutil.copytree(template, root)
    path = root / MOVIE / target
    path.write_bytes(data)
    pointer_before = (root / MOVIE / "current.json").read_bytes()
    for command in (["status", MOVIE], ["plan", MOVIE], ["history", MOVIE], ["verify", MOVIE], ["regenerate", MOVIE]):
        result = invoke(root, *command)
        assert_clean(result)
        if result.exit_code != 0:
            assert (root / MOVIE / "current.json").read_bytes() == pointer_before, f"{command} moved the live revision"
            pointer_before = (root / MOVIE / "current.json").read_bytes()
        else:
            pointer_before = (root / MOVIE / "current.json").read_bytes()


@SETTINGS
@given(movie=hostile_ids, key=hostile_ids)
def test_hostile_ids_are_refused_cleanly(template, tmp_path_factory, movie, key):
    root = tmp_path_factory.mktemp("ids") / "builds"
    shutil.copytree(template, root)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    for command in (
        ["status", movie],
        ["edit", movie, f"{key}=x"],
        ["edit", MOVIE, f"{key}=x"],
        ["export", MOVIE, key, "-o", str(root.parent / "out.bin")],
        ["diff", MOVIE, key, "rev-0001"],
        ["rollback", MOVIE, key],
        ["gc", movie, "--dry-run"],
    ):
        result = invoke(root, *command)
        assert_clean(result)
    outside = [p for p in root.parent.rglob("*") if p.is_file() and root not in p.parents and p.name != "out.bin"]
    assert not outside, f"something was written outside the storage root: {outside}"
    assert (root / MOVIE / "current.json").read_bytes() == before[root / MOVIE / "current.json"]


@SETTINGS
@given(movie=hostile_ids, relative=hostile_ids)
def test_core_paths_never_escape_the_movie_root(movie, relative, tmp_path_factory):
    storage = StorageContext(StorageConfig.from_url(str(tmp_path_factory.mktemp("core"))))
    try:
        resolved = storage.movie(movie).resolve(relative)
    except (StorageError, ValueError):
        return
    assert resolved.startswith(f"{storage.root}/{movie}/") and "/../" not in f"{resolved}/"


@SETTINGS
@given(root=st.one_of(st.sampled_from(["ftp://x", "s3:/nope", "http://h/p", "", "a\x00b"]), st.text(max_size=10)))
def test_bad_storage_roots_are_clear_errors(root, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cwd")
    cwd = os.getcwd()
    os.chdir(workdir)  # relative roots resolve here, not in the repository
    try:
        result = CliRunner().invoke(app, ["--root", root, "status", MOVIE])
    finally:
        os.chdir(cwd)
    assert_clean(result)
    assert not any(workdir.iterdir()), "a read-only command created folders"


@SETTINGS
@given(digest=st.text(max_size=70))
def test_blob_lookups_by_bad_hash_are_clear(template, digest):
    blobs = BlobStore(StorageContext(StorageConfig.from_url(str(template))).movie(MOVIE))
    with pytest.raises((StorageError, ValueError)):
        blobs.get(digest)


def test_text_a_user_wrote_is_printed_as_written_never_read_as_markup_or_emoji(tmp_path):
    """Titles and edits are the user's text: `[/bold]` once ended `show` in rich's MarkupError traceback,
    `[red]` vanished into a style and `:fire:` became an emoji."""
    root = str(tmp_path / "b")
    title = "I :fire: [/bold] [red]cats[/red]"

    def cli(*args: str) -> str:
        result = CliRunner().invoke(app, ["--root", root, *args])
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    cli("init", MOVIE, "-b", "audio-only", "--set", f"Title={title}", "--set", "NumOfSegments=1")
    cli("regenerate", MOVIE, "--yes")
    line = "[/] :smile: [bold]Hi"
    assert line in cli("edit", MOVIE, f"SegmentText[0]={line}")
    assert title in cli("show", MOVIE)
    cli("regenerate", MOVIE, "--yes")
    diff = cli("diff", MOVIE, "rev-0001", "rev-0002")
    assert "SegmentText[0]" in diff and line in diff
    assert "🔥" not in cli("show", MOVIE, "-r", "rev-0001") and "😄" not in diff
