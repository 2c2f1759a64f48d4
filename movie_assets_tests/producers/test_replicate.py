"""Replicate through its official SDK against a loopback server speaking its wire format: every media
kind, retries, server errors, bad outputs, timeouts with cancellation, reuse on rerun, no key leaks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.media import read_wav
from movie_assets.producers.registry import registry_from_environ
from movie_assets_tests.helpers import film_info

from .fake_replicate import FakeReplicate

TOKEN = "r8_fake_token_that_must_never_be_stored"
# the Replicate model choice each shipped producer module offers
ON_REPLICATE = {
    "video_clip": "seedance-lite",
    "narration": "minimax-speech",
    "music": "stable-audio",
    "image": "seedream",
}


@pytest.fixture
def replicate_api():
    server = FakeReplicate()
    yield server
    server.close()


def _env(server: FakeReplicate, **extra: str) -> dict[str, str]:
    return {
        "REPLICATE_API_TOKEN": TOKEN,
        "REPLICATE_BASE_URL": server.url,
        "MOVIE_ASSETS_PROVIDER_POLL": "0.02",
        "MOVIE_ASSETS_PROVIDER_BACKOFF": "0.05",
        **extra,
    }


def _on_replicate(name: str, producers: list[str]):
    bp = load_builtin(name)
    swapped = {p: bp.producers[p].model_copy(update={"model_choice": ON_REPLICATE[p]}) for p in producers}
    return bp.model_copy(update={"producers": {**bp.producers, **swapped}})


def _movie(storage, movie: str, bp, **inputs) -> MovieStore:
    store = MovieStore(storage, movie)
    counts = {"NumOfSegments": 2} if "NumOfSegments" in bp.inputs else {}
    store.init(bp, {"Title": f"{movie} on Replicate", **counts, **inputs})
    return store


def test_video_speech_and_music_from_replicate_make_a_valid_mp4(local_storage, replicate_api):
    store = _movie(local_storage, "film", _on_replicate("video-audio-music", ["video_clip", "narration", "music"]))
    outcome = store.regenerate(registry_from_environ(_env(replicate_api)))
    assert outcome.committed, {k: r.error for k, r in outcome.run.results.items() if r.error}
    manifest, _ = store.current()
    info = film_info(store.blobs.get(manifest.artefacts["export/movie"].blob))
    assert (info.width, info.height) == (manifest.timeline.width, manifest.timeline.height) and info.duration > 1
    speech, rate = read_wav(store.blobs.get(manifest.artefacts["segment-0000/narration/audio"].blob))
    assert rate == 16_000 and len(speech) > 16_000, "the model's MP3 became our mono WAV"
    creates = replicate_api.creates()
    assert {c["path"] for c in creates} == {
        "/v1/models/bytedance/seedance-1-lite/predictions",
        "/v1/models/minimax/speech-02-hd/predictions",
        "/v1/models/stability-ai/stable-audio-2.5/predictions",
    }
    speech_input = next(c["body"]["input"] for c in creates if "speech" in c["path"])
    assert speech_input["text"] == store.blobs.get(manifest.artefacts["segment-0000/script/text"].blob).decode()
    assert all(c["headers"]["authorization"] == f"Bearer {TOKEN}" for c in creates)
    event = next(e for e in store.events.stream_artefacts() if e.job_id == "segment-0001/video_clip")
    assert event.diagnostics["provider"] == "replicate" and event.cost == pytest.approx(0.18)


def test_images_from_replicate_are_stored_as_the_png_the_blueprint_declares(local_storage, replicate_api):
    store = _movie(local_storage, "slides", _on_replicate("image-only", ["image"]), ImagesPerSegment=1)
    assert store.regenerate(registry_from_environ(_env(replicate_api))).committed
    manifest, _ = store.current()
    png = store.blobs.get(manifest.artefacts["segment-0001/image-0000/image/image"].blob)
    assert png.startswith(b"\x89PNG") and Image.open(io.BytesIO(png)).size == (96, 54), "WebP converted"


def test_rate_limits_are_retried_by_the_sdks_transport(local_storage, replicate_api):
    replicate_api.busy_creates = 2
    store = _movie(local_storage, "busy", _on_replicate("music-only", ["music"]))
    assert store.regenerate(registry_from_environ(_env(replicate_api))).committed
    assert len(replicate_api.creates()) == 3


def test_a_server_error_fails_the_job_and_the_rerun_reuses_what_succeeded(local_storage, replicate_api):
    replicate_api.create_status["stability-ai/stable-audio-2.5"] = 500
    bp = _on_replicate("video-audio-music", ["video_clip", "music"])
    store = _movie(local_storage, "flaky", bp)
    outcome = store.regenerate(registry_from_environ(_env(replicate_api)))
    assert not outcome.committed
    assert "500" in outcome.run.results["music"].error and "broken today" in outcome.run.results["music"].error
    clips = len(replicate_api.creates("seedance"))
    del replicate_api.create_status["stability-ai/stable-audio-2.5"]
    assert store.regenerate(registry_from_environ(_env(replicate_api))).committed
    assert len(replicate_api.creates("seedance")) == clips, "the clips that succeeded are reused, not re-bought"


@pytest.mark.parametrize(
    ("outcome", "says"),
    [
        ("html", "expected video/mp4, got html"),
        ("empty", "0-byte file"),
        ("huge", "over the 1048576-byte cap"),
        ("fail", "failed: CUDA out of memory"),
    ],
)
def test_a_bad_answer_is_a_failed_job_never_an_artefact(local_storage, replicate_api, outcome, says):
    replicate_api.outcome["bytedance/seedance-1-lite"] = outcome
    store = _movie(local_storage, f"bad-{outcome}", _on_replicate("video-only", ["video_clip"]), NumOfSegments=1)
    run = store.regenerate(registry_from_environ(_env(replicate_api, MOVIE_ASSETS_MAX_OUTPUT_BYTES=str(1 << 20))))
    assert not run.committed and says in run.run.results["segment-0000/video_clip"].error
    assert not any(e.job_id.endswith("video_clip") and e.status == "succeeded" for e in store.events.stream_artefacts())


def test_a_prediction_that_never_settles_is_cancelled_at_the_timeout(local_storage, replicate_api):
    replicate_api.outcome["stability-ai/stable-audio-2.5"] = "hang"
    store = _movie(local_storage, "slow", _on_replicate("music-only", ["music"]))
    outcome = store.regenerate(registry_from_environ(_env(replicate_api, MOVIE_ASSETS_PROVIDER_TIMEOUT="0.3")))
    assert not outcome.committed and "still processing after 0.3 s" in outcome.run.results["music"].error
    assert replicate_api.cancelled == [next(iter(replicate_api.predictions))], "we stop paying for it"


def test_the_token_is_never_written_into_the_movie(local_storage, replicate_api):
    store = _movie(local_storage, "secret", _on_replicate("music-only", ["music"]))
    assert store.regenerate(registry_from_environ(_env(replicate_api))).committed
    leaked = [p for p in Path(local_storage.root).rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaked == []


def test_providers_check_reads_the_replicate_account(replicate_api):
    from typer.testing import CliRunner

    from movie_assets.cli import app

    checked = CliRunner().invoke(app, ["providers", "--check"], env=_env(replicate_api))
    assert checked.exit_code == 0 and "account filmmaker" in checked.output, checked.output
    assert [r["path"] for r in replicate_api.requests] == ["/v1/account"], "nothing billed, nothing created"


def test_the_token_never_reaches_the_dagster_event_log_either(tmp_path, replicate_api):
    import dagster as dg

    from movie_assets.orchestration import EventLogResource, StorageResource, build_definitions
    from movie_assets.store.config import StorageConfig
    from movie_assets.store.storage import StorageContext

    from ..orchestration.partitions import run_request

    root = str(tmp_path / "builds")
    song = _movie(StorageContext(StorageConfig(root=root)), "song", load_builtin("music-only"))
    song.edit({"music.model": "stable-audio"})  # a per-movie pick: the deployed blueprint stays as it is
    resources = {"storage": StorageResource(url=root), "events": EventLogResource()}
    defs = build_definitions(
        storage=resources["storage"],
        events=resources["events"],
        produce_factory=lambda: registry_from_environ(_env(replicate_api)),
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources, definitions=defs)
        [request] = defs.resolve_sensor_def("movie_sensor")(context).run_requests
        assert run_request(defs, instance, request, resources).success
    assert replicate_api.creates("stable-audio"), "the music was made on Replicate, through Dagster"
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaked == [], "neither the movie folder nor Dagster's storage holds the token"


def test_ctrl_c_while_waiting_cancels_the_prediction(local_storage, replicate_api, monkeypatch):
    import movie_assets.producers.remote as waiting

    replicate_api.outcome["stability-ai/stable-audio-2.5"] = "hang"
    store = _movie(local_storage, "interrupted", _on_replicate("music-only", ["music"]))
    calls = {"n": 0}

    def sleep(seconds: float) -> None:  # the user presses Ctrl-C during the second wait
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(waiting.time, "sleep", sleep)
    with pytest.raises(KeyboardInterrupt):
        store.regenerate(registry_from_environ(_env(replicate_api)), concurrency=1)
    assert replicate_api.cancelled == [next(iter(replicate_api.predictions))], "cancelled on the way out"
    assert store.manifests.load_pointer() is None


def _hd_clip(seconds: float = 2.0) -> bytes:
    """A 1280x720 clip of moving test pattern, as a video model returns it (shorter than a narration)."""
    import tempfile

    from movie_assets.render.ffmpeg import run

    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/hd.mp4"
        source = f"testsrc2=size=1280x720:rate=24:duration={seconds}"
        run(["-f", "lavfi", "-i", source, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", out], "hd")
        return Path(out).read_bytes()


@pytest.mark.film
@pytest.mark.parametrize("aspect,resolution,size", [("16:9", "720p", (1280, 720)), ("9:16", "1080p", (1080, 1920))])
def test_networked_clips_shorter_than_their_narration_make_a_film_at_the_movies_size_with_no_frozen_frames(
    local_storage, replicate_api, aspect, resolution, size
):
    from movie_assets_tests.helpers import frozen_seconds

    replicate_api.files["video"] = _hd_clip()
    bp = _on_replicate("video-audio-music", ["video_clip"])
    store = _movie(local_storage, "film", bp, AspectRatio=aspect, Resolution=resolution, Duration=8)
    outcome = store.regenerate(registry_from_environ(_env(replicate_api)))
    assert outcome.committed, {k: r.error for k, r in outcome.run.results.items() if r.error}
    manifest, _ = store.current()
    data = store.blobs.get(manifest.artefacts["export/movie"].blob)
    info = film_info(data)
    assert (info.width, info.height) == size and info.fps == 24 and info.sample_rate == 48000
    assert frozen_seconds(data) < 0.05 * info.duration, "a 2 s clip in a longer slot is slowed, then held moving"
    [request, *_] = [c for c in replicate_api.creates() if "seedance" in c["path"]]
    sent = request["body"]["input"]
    assert sent["aspect_ratio"] == aspect and sent["resolution"] == resolution
    narrated = [e for e in manifest.artefacts if e.endswith("narration/audio")]
    assert sent["duration"] in (5, 10) and narrated, "the shot's length, rounded up to what the model takes"
