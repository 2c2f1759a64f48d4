"""fal through its official client against a loopback HTTPS server speaking its queue API. fal's
client reads its host at import, so the CLI runs in a subprocess with the fake's host and a
throwaway certificate authority in its environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from movie_assets.movie import MovieStore
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext
from movie_assets_tests.helpers import film_info

from .fake_fal import FakeFal

KEY = "fal-key-id:fal-secret-that-must-never-be-stored"
APP = "fal-ai/kling-video/v2.1/standard/text-to-video"


@pytest.fixture
def fal_api(tmp_path):
    server = FakeFal(tmp_path)
    yield server
    server.close()


def _cli(fal_api: FakeFal, root: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "FAL_KEY": KEY,
        "FAL_RUN_HOST": fal_api.host,
        "FAL_QUEUE_RUN_HOST": fal_api.host,
        "SSL_CERT_FILE": str(fal_api.ca_file),
        "MOVIE_ASSETS_PROVIDER_POLL": "0.05",
        **extra,
    }
    command = [sys.executable, "-m", "movie_assets.cli", "--root", str(root), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)


def _init(fal_api, root: Path, movie: str) -> None:
    made = _cli(
        fal_api,
        root,
        "init",
        movie,
        "-b",
        "video-only",
        "--set",
        "Title=Queue",
        "--set",
        "NumOfSegments=2",
        "--set",
        "video_clip.model=kling",
    )
    assert made.returncode == 0, made.stdout + made.stderr


@pytest.mark.timeout(300)  # two CLI processes, ~10 s here
def test_clips_from_fal_are_submitted_polled_fetched_and_cut_into_the_film(fal_api, tmp_path):
    root = tmp_path / "builds"
    _init(fal_api, root, "queued")
    done = _cli(fal_api, root, "regenerate", "queued", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    submits = [r for r in fal_api.requests if r["method"] == "POST"]
    assert [r["path"] for r in submits] == [f"/{APP}", f"/{APP}"]
    assert all(r["headers"]["authorization"] == f"Key {KEY}" for r in submits)
    assert submits[0]["body"]["prompt"].startswith("cinematic")
    store = MovieStore(StorageContext(StorageConfig(root=str(root))), "queued")
    manifest, _ = store.current()
    info = film_info(store.blobs.get(manifest.artefacts["export/movie"].blob))
    assert (info.width, info.height) == (manifest.timeline.width, manifest.timeline.height) and info.duration >= 2
    leaked = [p for p in root.rglob("*") if p.is_file() and b"fal-secret" in p.read_bytes()]
    assert leaked == []


@pytest.mark.timeout(300)
def test_an_html_answer_and_a_hung_request_are_failed_jobs_and_the_hung_one_is_cancelled(fal_api, tmp_path):
    root = tmp_path / "builds"
    _init(fal_api, root, "broken")
    fal_api.outcome[APP] = "html"
    failed = _cli(fal_api, root, "regenerate", "broken", "--yes")
    assert failed.returncode == 1 and "expected video/mp4, got html" in " ".join(
        failed.stderr.split() + failed.stdout.split()
    )
    fal_api.outcome[APP] = "hang"
    hung = _cli(fal_api, root, "regenerate", "broken", "--yes", MOVIE_ASSETS_PROVIDER_TIMEOUT="0.3")
    assert hung.returncode == 1 and "not done after 0.3 s" in " ".join(hung.stderr.split() + hung.stdout.split())
    assert len(fal_api.cancelled) == 2, "both segments' requests cancelled"


def test_providers_check_proves_a_fal_key_with_a_free_status_call_and_refuses_a_bogus_one(fal_api, tmp_path):
    good = _cli(fal_api, tmp_path / "b", "providers", "--check")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "key accepted" in good.stdout
    asked = [r for r in fal_api.requests if r["method"] == "GET" and "/status" in r["path"]]
    assert asked and asked[-1]["headers"]["authorization"] == f"Key {KEY}", "the status call carried the key"
    assert not [r for r in fal_api.requests if r["method"] == "POST"], "nothing was submitted: nothing spent"
    fal_api.refused_keys.add("bogus-key-id:bogus-secret-value")
    bad = _cli(fal_api, tmp_path / "b", "providers", "--check", FAL_KEY="bogus-key-id:bogus-secret-value")
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "HTTP 401" in bad.stdout and "credentials refused: fal" in bad.stderr
    assert "bogus-secret-value" not in bad.stdout + bad.stderr
