"""OS errors are bad input too: a full disk, a read-only root, missing paths, a server that is down.
Each is one red line naming the path and the cause, exit code 2, and nothing half-written.

The full and read-only disks are real: small tmpfs mounts (the test is skipped where mounting is not
allowed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.store.blobs import BlobStore, blob_path
from movie_assets.store.config import StorageConfig
from movie_assets.store.events import INPUTS_LOG
from movie_assets.store.storage import StorageContext

MOVIE = "film"


def _mount(target: Path, options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    return (
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True).returncode
        == 0
    )


@pytest.fixture
def tmpfs(tmp_path):
    mounted: list[Path] = []

    def make(size: str) -> Path:
        target = tmp_path / f"fs{len(mounted)}"
        if not _mount(target, f"size={size}"):
            pytest.skip("cannot mount a tmpfs here (needs root and mount rights)")
        mounted.append(target)
        return target

    yield make
    for target in mounted:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def _cli(root: Path | str, *args: str, env: dict | None = None):
    return CliRunner().invoke(app, ["--root", str(root), *args], env=env)


def _one_clean_line(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output  # (a progress line may precede it on stdout)
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def _fill(folder: Path) -> None:
    """Write until the file system says it is full (big blocks first, then byte by byte)."""
    for name, block in (("filler", 65536), ("filler-tail", 1)):
        try:
            with open(folder / name, "wb", buffering=0) as handle:
                while True:
                    handle.write(b"\0" * block)
        except OSError:
            continue


def test_a_full_disk_is_one_line_and_leaves_no_torn_line(tmpfs):
    root = tmpfs("2m") / "builds"
    assert _cli(root, "init", MOVIE, "-b", "audio-only", "--set", "Title=Full").exit_code == 0
    log = root / MOVIE / INPUTS_LOG
    before = log.read_bytes()
    _fill(root.parent)
    edit = _cli(root, "edit", MOVIE, "SegmentText[0]=" + "a long new first scene " * 400)
    _one_clean_line(edit, "No space left on device")
    assert log.read_bytes() == before, "the failed append left nothing behind"
    _one_clean_line(_cli(root, "regenerate", MOVIE), "No space left on device")
    assert not (root / MOVIE / "current.json").exists(), "nothing was published"


def test_a_read_only_root_is_one_line_for_every_writing_command(tmpfs, tmp_path):
    folder = tmpfs("64m")
    root = folder / "builds"
    assert _cli(root, "init", MOVIE, "-b", "audio-only", "--set", "Title=Frozen").exit_code == 0
    assert _cli(root, "regenerate", MOVIE).exit_code == 0
    assert _cli(root, "edit", MOVIE, "SegmentText[1]=changed").exit_code == 0
    orphan = BlobStore(StorageContext(StorageConfig(driver="local", root=str(root))).movie(MOVIE)).put(b"orphan")
    assert subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True).returncode == 0
    for args in (
        ["edit", MOVIE, "SegmentText[0]=x"],
        ["regenerate", MOVIE],
        ["rollback", MOVIE, "rev-0001"],
        ["gc", MOVIE, "--grace", "0s"],
        ["init", "other", "-b", "audio-only", "--set", "Title=New"],
        ["migrate", str(Path(__file__).parents[1] / "fixtures" / "legacy-film"), "harbour"],
    ):
        _one_clean_line(_cli(root, *args), "Read-only file system")
    assert _cli(root, "verify", MOVIE).exit_code == 0, "reading still works"
    assert (root / MOVIE / blob_path(orphan.hash)).exists(), "the sweep that could not delete lost nothing"


def test_export_refuses_bad_targets_and_leaves_no_corrupt_file(tmp_path):
    root = tmp_path / "builds"
    assert _cli(root, "init", MOVIE, "-b", "audio-only", "--set", "Title=Out").exit_code == 0
    assert _cli(root, "regenerate", MOVIE).exit_code == 0
    _one_clean_line(_cli(root, "export", MOVIE, "export/mix", "-o", str(tmp_path / "no" / "such" / "mix.wav")))
    _one_clean_line(_cli(root, "export", MOVIE, "export/mix", "-o", str(tmp_path)), "is a directory")

    manifest = json.loads((root / MOVIE / "manifests" / "rev-0001.json").read_text())
    blob = root / MOVIE / blob_path(manifest["artefacts"]["export/mix"]["blob"]["hash"])
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    target = tmp_path / "mix.wav"
    _one_clean_line(_cli(root, "export", MOVIE, "export/mix", "-o", str(target)), "corrupted")
    assert not target.exists() and not list(tmp_path.glob(".mix.wav*")), "no partial output"


def test_init_inputs_files_that_are_missing_or_hostile(tmp_path):
    root = tmp_path / "builds"
    _one_clean_line(_cli(root, "init", MOVIE, "-b", "audio-only", "-i", str(tmp_path / "nope.yaml")), "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("Title: [unclosed\n")
    _one_clean_line(_cli(root, "init", MOVIE, "-b", "audio-only", "-i", str(bad)), "not valid YAML")
    evil = tmp_path / "evil.yaml"
    evil.write_text("Title: !!python/object/apply:os.system ['touch pwned']\n")
    _one_clean_line(_cli(root, "init", MOVIE, "-b", "audio-only", "-i", str(evil)), "not valid YAML")
    assert not Path("pwned").exists() and not (root / MOVIE).exists()


def test_an_unreachable_s3_root_is_one_line(tmp_path):
    from ..servers import free_port

    options = {"endpoint_url": f"http://127.0.0.1:{free_port()}", "key": "k", "secret": "s", "retries": 1}
    env = {"MOVIE_ASSETS_STORAGE_OPTIONS": json.dumps(options)}
    _one_clean_line(_cli("s3://films/prod", "status", MOVIE, env=env), "S3 request failed")
    _one_clean_line(_cli("s3://films/prod", "init", MOVIE, "-b", "audio-only", "--set", "Title=x", env=env))


def test_a_bucket_that_does_not_exist_or_refuses_the_keys_is_one_line_naming_the_refusal(moto_s3):
    options = moto_s3.options()
    env = {"MOVIE_ASSETS_STORAGE_OPTIONS": json.dumps(options)}
    _one_clean_line(_cli("s3://no-such-bucket-here/prod", "status", MOVIE, env=env), "NoSuchBucket")
    _one_clean_line(_cli("s3://no-such-bucket-here/prod", "list", env=env), "NoSuchBucket")
    init = _cli("s3://no-such-bucket-here/prod", "init", MOVIE, "-b", "audio-only", "--set", "Title=x", env=env)
    _one_clean_line(init, "NoSuchBucket")
