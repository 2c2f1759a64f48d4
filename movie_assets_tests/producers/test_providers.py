"""Networked providers: configuration through the CLI, refusal before running, offline fallback, and
the OpenAI / ElevenLabs adapters speaking HTTP to a loopback server that answers in their API shapes
(no real service is called), plus plug-in discovery through entry points."""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.elevenlabs_provider import PCM_RATE
from movie_assets.producers.providers import discover_providers
from movie_assets.store.config import StorageConfig
from movie_assets.store.events import FileEventLog
from movie_assets.store.storage import StorageContext
from movie_assets_tests.helpers import film_info

NO_KEYS = {"OPENAI_API_KEY": "", "ELEVENLABS_API_KEY": "", "OPENAI_BASE_URL": "", "ELEVENLABS_BASE_URL": ""}


class ApiServer:
    """Answers /v1/chat/completions, /v1/images/generations, /v1/audio/speech and ElevenLabs'
    /v1/text-to-speech/<voice> the way the services document them; records every request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_images: int | None = None  # HTTP status every image call answers with, if set
        self.busy = 0  # how many chat calls answer 429 (Retry-After: 0) first
        self.bad_story = False  # structured story answers break the schema
        self.voices = ["narrator 1", "narrator-2"]  # the ElevenLabs account's voice ids
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                url = urlparse(self.path)
                server.requests.append(
                    {
                        "path": url.path,
                        "query": parse_qs(url.query),
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                status, kind, payload = server.answer(url.path, body)
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # the cheapest authenticated calls: list models, list voices
                openai = self.headers.get("Authorization") == "Bearer sk-test"
                eleven = self.headers.get("xi-api-key") == "el-test"
                server.requests.append({"path": urlparse(self.path).path, "method": "GET"})
                if self.path.startswith("/v1/voices") and eleven:
                    voices = [{"voice_id": v, "name": v.title()} for v in server.voices]
                    payload, status = json.dumps({"voices": voices}).encode(), 200
                elif self.path == "/v1/models" and (openai or eleven):
                    models = [{"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "o", "model_id": "m"}]
                    payload, status = json.dumps({"object": "list", "data": models} if openai else models).encode(), 200
                else:
                    payload, status = b'{"error": {"message": "Incorrect API key provided"}}', 401
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path: str, body: dict) -> tuple[int, str, bytes]:  # noqa: PLR0911 - one return per endpoint
        if path == "/v1/chat/completions" and self.busy > 0:
            self.busy -= 1
            return 429, "application/json", b'{"error": {"message": "rate limited"}}'
        if path == "/v1/chat/completions":
            user = body["messages"][-1]["content"]
            text = f"[{body['model']}] written for: {user[:60]}"
            schema = body.get("response_format", {}).get("json_schema", {})
            if schema.get("name") == "story":  # the story: exactly as many lines as the schema asks
                count = schema["schema"]["properties"]["NarrationScript"]["minItems"]
                lines = [f"Line {i + 1} of the story of {user[:30]}" for i in range(count)]
                told = {"MovieTitle": "The Wire", "MovieSummary": "A story.", "NarrationScript": lines}
                text = json.dumps({"Lines": lines} if self.bad_story else told)
            elif schema:  # the per-segment script
                text = json.dumps({"text": text})
            message = {"role": "assistant", "content": text}
            answer = {"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"]}
            answer["choices"] = [{"index": 0, "message": message, "finish_reason": "stop"}]
            return 200, "application/json", json.dumps(answer).encode()
        if path == "/v1/images/generations":
            if self.fail_images:
                return self.fail_images, "application/json", b'{"error": {"message": "the image service is down"}}'
            buffer = io.BytesIO()
            Image.new("RGB", (64, 64), (len(body["prompt"]) % 256, 90, 160)).save(buffer, "PNG")
            return (
                200,
                "application/json",
                json.dumps({"data": [{"b64_json": base64.b64encode(buffer.getvalue()).decode()}]}).encode(),
            )
        if path == "/v1/audio/speech":  # OpenAI: the WAV asked for
            return 200, "audio/wav", wav_of(tone(len(body["input"]) * 0.01))
        if path.startswith("/v1/text-to-speech/"):  # ElevenLabs: raw PCM as output_format says
            return 200, "application/octet-stream", tone(len(body["text"]) * 0.01)
        if path == "/v1/music":
            return 200, "audio/wav", wav_of(tone(body["music_length_ms"] / 1000))
        return 404, "application/json", b'{"error": "no such endpoint"}'

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self, prefix: str) -> list[dict]:
        return [r for r in self.requests if r["path"].startswith(prefix)]


def tone(seconds: float) -> bytes:
    """Raw 16-bit LE mono PCM at 24 kHz, as both speech APIs return for their `pcm` formats."""
    count = int(seconds * PCM_RATE)
    return b"".join(
        int(8000 * math.sin(2 * math.pi * 220 * n / PCM_RATE)).to_bytes(2, "little", signed=True) for n in range(count)
    )


def wav_of(pcm: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(PCM_RATE)
        out.writeframes(pcm)
    return buffer.getvalue()


@pytest.fixture
def api():
    server = ApiServer()
    yield server
    server.close()


def provider_blueprint(tmp_path) -> str:
    """image-audio with the story, image prompts and images on OpenAI and narration on ElevenLabs."""
    doc = load_builtin("image-audio").model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for name in ("story", "image_prompt"):
        doc["producers"][name]["model_choice"] = "gpt-4o-mini"
    doc["producers"]["image"]["model_choice"] = "gpt-image"  # a model choice the image module offers
    doc["producers"]["narration"]["model_choice"] = "elevenlabs"
    doc["producers"]["narration"]["params"] = {"voice_id": "narrator 1"}
    path = tmp_path / "networked.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def init_movie(tmp_path) -> tuple[CliRunner, str]:
    runner = CliRunner()
    root = str(tmp_path / "builds")
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("Title: Wire film\nNumOfSegments: 2\nImagesPerSegment: 2\n")
    result = runner.invoke(app, ["--root", root, "init", "wire", "-b", provider_blueprint(tmp_path), "-i", str(inputs)])
    assert result.exit_code == 0, result.output
    return runner, root


def keys(api: ApiServer) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": f"{api.url}/v1",
        "ELEVENLABS_API_KEY": "el-test",
        "ELEVENLABS_BASE_URL": api.url,
        "MOVIE_ASSETS_PROVIDER_BACKOFF": "0.01",
    }


def store_of(root: str) -> MovieStore:
    return MovieStore(StorageContext(StorageConfig.from_url(root)), "wire")


def test_unconfigured_provider_is_refused_before_anything_runs(tmp_path):
    runner, root = init_movie(tmp_path)
    result = runner.invoke(app, ["--root", root, "regenerate", "wire"], env=NO_KEYS)
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "provider 'openai' is not configured (set OPENAI_API_KEY)" in output
    assert "provider 'elevenlabs' is not configured (set ELEVENLABS_API_KEY)" in output
    assert "nothing was run" in output
    store = store_of(root)
    assert store.current()[1] is None, "nothing published"
    assert list(FileEventLog(store.storage.movie("wire")).stream_artefacts()) == [], "no producer ran"
    providers = runner.invoke(app, ["providers"], env=NO_KEYS)
    assert "not configured" in providers.output


def test_offline_fallback_is_recorded_in_the_events(tmp_path):
    runner, root = init_movie(tmp_path)
    result = runner.invoke(app, ["--root", root, "regenerate", "wire", "--offline"], env=NO_KEYS)
    assert result.exit_code == 0, result.output
    events = {e.job_id: e for e in FileEventLog(store_of(root).storage.movie("wire")).stream_artefacts()}
    assert events["story"].diagnostics["requested_provider"] == "openai"
    assert events["segment-0001/narration"].diagnostics["requested_provider"] == "elevenlabs"
    assert events["segment-0001/narration"].diagnostics["provider"] == "offline"
    assert "requested_provider" not in events["timeline"].diagnostics  # an offline job to begin with


def test_offline_runs_every_job_offline_even_with_keys_set(tmp_path, api):
    runner, root = init_movie(tmp_path)
    result = runner.invoke(app, ["--root", root, "regenerate", "wire", "--offline"], env=keys(api))
    assert result.exit_code == 0, result.output
    assert api.requests == [], "no networked provider was called"
    events = list(FileEventLog(store_of(root).storage.movie("wire")).stream_artefacts())
    assert events and all(e.diagnostics.get("provider", "offline") == "offline" for e in events)


def test_networked_producers_over_http(tmp_path, api):
    runner, root = init_movie(tmp_path)
    result = runner.invoke(app, ["--root", root, "regenerate", "wire"], env=keys(api))
    assert result.exit_code == 0, result.output
    assert "committed rev-0001" in result.output

    chats = api.paths("/v1/chat/completions")
    assert len(chats) == 3  # the story and two image prompts
    openai_calls = chats + api.paths("/v1/images/")
    assert all(r["headers"]["authorization"] == "Bearer sk-test" for r in openai_calls)
    assert len(api.paths("/v1/images/generations")) == 4  # 2 segments x 2 images
    speech = api.paths("/v1/text-to-speech/")
    assert len(speech) == 2 and all(r["headers"]["xi-api-key"] == "el-test" for r in speech)
    assert speech[0]["path"] == "/v1/text-to-speech/narrator%201" and speech[0]["query"] == {
        "output_format": ["pcm_24000"]
    }

    store = store_of(root)
    manifest, _ = store.current()
    script = store.blobs.get(manifest.artefacts["segment-0000/script/text"].blob).decode()
    assert script.startswith("Line 1 of the story of Film idea: \nWorking title: Wire film"[:34])
    assert speech[0]["body"]["text"] == script or speech[1]["body"]["text"] == script
    png = store.blobs.get(manifest.artefacts["segment-0001/image-0001/image/image"].blob)
    assert Image.open(io.BytesIO(png)).size == (64, 64)
    wav = store.blobs.get(manifest.artefacts["segment-0000/narration/audio"].blob)
    with wave.open(io.BytesIO(wav)) as audio:
        assert audio.getframerate() == 16_000 and audio.getnchannels() == 1
        assert abs(audio.getnframes() / 16_000 - len(script) * 0.01) < 0.01
    narrated = manifest.timeline.duration - manifest.timeline.title_seconds
    assert abs(narrated - 2 * len(script) * 0.01) < 0.5, "the title card, then each segment as long as its speech"


def test_provider_error_fails_the_run_and_the_rerun_reuses(tmp_path, api):
    runner, root = init_movie(tmp_path)
    api.fail_images = 500
    env = {**keys(api), "MOVIE_ASSETS_PROVIDER_ATTEMPTS": "2"}
    result = runner.invoke(app, ["--root", root, "regenerate", "wire"], env=env)
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "HTTP 500" in output and "the image service is down" in output and "(after 2 attempts)" in output
    assert len(api.paths("/v1/images/")) == 4 * 2, "the SDK retried each of the 4 image jobs once"
    assert store_of(root).current()[1] is None
    chats = len(api.paths("/v1/chat/completions"))

    api.fail_images = None
    result = runner.invoke(app, ["--root", root, "regenerate", "wire"], env=keys(api))
    assert result.exit_code == 0, result.output
    assert len(api.paths("/v1/chat/completions")) == chats, "scripts and prompts that succeeded are reused"


def test_rate_limits_are_retried_and_bad_requests_are_not(tmp_path, api):
    runner, root = init_movie(tmp_path)
    api.busy = 3
    api.fail_images = 400
    result = runner.invoke(app, ["--root", root, "regenerate", "wire"], env=keys(api))
    assert result.exit_code == 1
    assert len(api.paths("/v1/chat/completions")) == 3 + 3, "three 429s, each retried"
    assert len(api.paths("/v1/images/")) == 4, "a 400 is our fault: no retry"
    assert "HTTP 400" in " ".join(result.output.split())
    bad = runner.invoke(
        app, ["--root", root, "regenerate", "wire"], env={**keys(api), "MOVIE_ASSETS_PROVIDER_ATTEMPTS": "many"}
    )
    assert bad.exit_code == 2 and "MOVIE_ASSETS_PROVIDER_ATTEMPTS must be an integer" in " ".join(bad.output.split())


def test_plugin_providers_are_discovered_through_entry_points(tmp_path, monkeypatch):
    package = tmp_path / "studio_plugin.py"
    package.write_text(
        "from movie_assets.pipeline.produce import ProduceResult\n"
        "from movie_assets.producers.providers import Provider\n"
        "def _script(request):\n"
        "    return ProduceResult({'text': b'from the studio'})\n"
        "provider = Provider('studio', ('STUDIO_TOKEN',), lambda creds: {'script': _script}, 'script')\n"
        "not_a_provider = object()\n"
    )
    dist = tmp_path / "studio_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: studio-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[movie_assets.providers]\nstudio = studio_plugin:provider\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover_providers()
    assert found["studio"].credentials == ("STUDIO_TOKEN",) and "openai" in found
    result = CliRunner().invoke(app, ["providers"], env={"STUDIO_TOKEN": "t"})
    assert "studio" in result.output and "STUDIO_TOKEN" in result.output

    (dist / "entry_points.txt").write_text("[movie_assets.providers]\nbroken = studio_plugin:not_a_provider\n")
    with pytest.raises(TypeError, match="'broken'.*is not a movie_assets Provider"):
        discover_providers()


def test_a_story_that_breaks_its_schema_is_a_failed_job_not_an_artefact(tmp_path, api):
    runner, root = init_movie(tmp_path)
    api.bad_story = True
    result = runner.invoke(app, ["--root", root, "regenerate", "wire"], env=keys(api))
    assert result.exit_code == 1
    assert "does not match the story schema" in " ".join(result.output.split())
    chat = api.paths("/v1/chat/completions")[0]["body"]
    required = chat["response_format"]["json_schema"]["schema"]["required"]
    assert required == ["MovieTitle", "MovieSummary", "NarrationScript"], "structured output asked"
    store = store_of(root)
    assert not any(e.job_id == "story" and e.status == "succeeded" for e in store.events.stream_artefacts())


def test_elevenlabs_music_through_its_sdk_becomes_the_track(tmp_path, api):
    doc = load_builtin("music-only").model_dump(mode="json", by_alias=True, exclude_defaults=True)
    doc["producers"]["music"]["model_choice"] = "elevenlabs-music"
    path = tmp_path / "music.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    root = str(tmp_path / "builds")
    runner = CliRunner()
    made = runner.invoke(
        app, ["--root", root, "init", "song", "-b", str(path), "--set", "Title=Song", "--set", "Duration=12"]
    )
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["--root", root, "regenerate", "song"], env=keys(api))
    assert result.exit_code == 0, result.output
    [call] = api.paths("/v1/music")
    assert call["body"]["music_length_ms"] == 12000 and call["headers"]["xi-api-key"] == "el-test", "the piece's length"
    store = MovieStore(StorageContext(StorageConfig.from_url(root)), "song")
    manifest, _ = store.current()
    with wave.open(io.BytesIO(store.blobs.get(manifest.artefacts["music/audio"].blob))) as audio:
        assert audio.getframerate() == 16_000 and abs(audio.getnframes() / 16_000 - 12) < 0.05


def test_keys_never_land_in_the_movie_folder(tmp_path, api):
    runner, root = init_movie(tmp_path)
    assert runner.invoke(app, ["--root", root, "regenerate", "wire"], env=keys(api)).exit_code == 0
    files = [p for p in (tmp_path / "builds").rglob("*") if p.is_file()]
    assert files and not [p for p in files if b"sk-test" in p.read_bytes() or b"el-test" in p.read_bytes()]


def test_providers_check_proves_keys_with_a_free_call_and_names_the_refused_ones(api):
    runner = CliRunner()
    good = runner.invoke(app, ["providers", "--check"], env=keys(api))
    assert good.exit_code == 0, good.output
    assert good.output.count("valid") == 2 and "1 models visible" in good.output
    bad = runner.invoke(app, ["providers", "--check"], env={**keys(api), "OPENAI_API_KEY": "sk-wrong-key-123"})
    assert bad.exit_code == 2 and "refused" in bad.output and "HTTP 401" in " ".join(bad.output.split())
    assert "sk-wrong-key-123" not in bad.output, "a key is never echoed"


def test_the_story_from_openai_is_one_structured_answer_with_a_line_per_segment(tmp_path, api):
    root = str(tmp_path / "builds")
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "--root",
            root,
            "init",
            "tale",
            "-b",
            "video-audio-music",
            "--set",
            "InquiryPrompt=A wire across the sea",
            "--set",
            "NumOfSegments=3",
            "--set",
            "story.model=gpt-4o-mini",
        ],
    )
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["--root", root, "regenerate", "tale", "--yes"], env=keys(api))
    assert result.exit_code == 0, result.output
    [story] = [r for r in api.paths("/v1/chat/completions") if "json_schema" in r["body"].get("response_format", {})]
    assert "Film idea: A wire across the sea" in story["body"]["messages"][-1]["content"], "the prompt file, filled in"
    store = MovieStore(StorageContext(StorageConfig.from_url(root)), "tale")
    manifest, _ = store.current()
    scripts = [store.blobs.get(manifest.artefacts[f"segment-000{i}/script/text"].blob).decode() for i in range(3)]
    assert scripts == [f"Line {i + 1} of the story of Film idea: A wire across the s" for i in range(3)]


def test_a_whole_film_on_remote_providers_makes_a_valid_mp4(tmp_path, api):
    """The story on OpenAI, clips and music on Replicate, narration on ElevenLabs: one movie."""

    from .fake_replicate import FakeReplicate

    replicate_api = FakeReplicate()
    try:
        root = str(tmp_path / "builds")
        runner = CliRunner()
        picks = [
            "story.model=gpt-4o-mini",
            "video_clip.model=seedance-lite",
            "narration.model=elevenlabs",
            "music.model=stable-audio",
        ]
        args = [
            "--root",
            root,
            "init",
            "remote",
            "-b",
            "video-audio-music",
            "--set",
            "InquiryPrompt=A remote film",
            "--set",
            "NumOfSegments=2",
        ]
        made = runner.invoke(app, [*args, *[x for pick in picks for x in ("--set", pick)]])
        assert made.exit_code == 0, made.output
        env = {
            **keys(api),
            "REPLICATE_API_TOKEN": "r8_fake",
            "REPLICATE_BASE_URL": replicate_api.url,
            "MOVIE_ASSETS_PROVIDER_POLL": "0.02",
        }
        result = runner.invoke(app, ["--root", root, "regenerate", "remote", "--yes"], env=env)
        assert result.exit_code == 0, result.output
        store = MovieStore(StorageContext(StorageConfig.from_url(root)), "remote")
        manifest, _ = store.current()
        info = film_info(store.blobs.get(manifest.artefacts["export/movie"].blob))
        assert (info.width, info.height) == (manifest.timeline.width, manifest.timeline.height) and abs(
            info.duration - manifest.timeline.duration
        ) < 0.5
        providers = {e.job_id: e.diagnostics.get("provider") for e in store.events.stream_artefacts()}
        assert providers["story"] == "openai" and providers["music"] == "replicate"
        assert (
            providers["segment-0001/video_clip"] == "replicate" and providers["segment-0001/narration"] == "elevenlabs"
        )
    finally:
        replicate_api.close()


def _remote_film(tmp_path, api, replicate_api, name: str, sets: list[str]) -> tuple[CliRunner, str, dict]:
    root = str(tmp_path / "builds")
    runner = CliRunner()
    args = ["--root", root, "init", name, "-b", "video-audio-music"]
    made = runner.invoke(app, [*args, *[x for item in sets for x in ("--set", item)]])
    assert made.exit_code == 0, made.output
    env = {
        **keys(api),
        "REPLICATE_API_TOKEN": "r8_fake",
        "REPLICATE_BASE_URL": replicate_api.url,
        "MOVIE_ASSETS_PROVIDER_POLL": "0.02",
    }
    return runner, root, env


def test_every_creative_input_reaches_the_providers_requests(tmp_path, api):
    """Language, voice id, emotion, musical style, durations and aspect ratio, as each service takes them."""
    from .fake_replicate import FakeReplicate

    replicate_api = FakeReplicate()
    try:
        sets = [
            "InquiryPrompt=A lighthouse keeper befriends a whale",
            "NumOfSegments=2",
            "Language=fr",
            "VoiceId=narrator-2",
            "Emotion=happy",
            "MusicalStyle=solo piano and soft strings",
            "Duration=30",
            "AspectRatio=9:16",
            "Resolution=1080p",
            "story.model=gpt-4o-mini",
            "video_prompt.model=gpt-5-mini",
            "music_prompt.model=gpt-4o",
            "video_clip.model=seedance-lite",
            "narration.model=elevenlabs-v3",
            "music.model=elevenlabs-music",
        ]
        runner, root, env = _remote_film(tmp_path, api, replicate_api, "creative", sets)
        result = runner.invoke(app, ["--root", root, "regenerate", "creative", "--yes"], env=env)
        assert result.exit_code == 0, result.output
        chats = [r["body"] for r in api.paths("/v1/chat/completions")]
        [story] = [c for c in chats if c["model"] == "gpt-4o-mini"]
        assert (
            "Language: fr" in story["messages"][-1]["content"]
            and "Length in seconds: 30" in story["messages"][-1]["content"]
        )
        videos = [c for c in chats if c["model"] == "gpt-5-mini"]
        assert len(videos) == 2 and all("9:16 frame" in c["messages"][-1]["content"] for c in videos)
        [music] = [c for c in chats if c["model"] == "gpt-4o"]
        assert "solo piano and soft strings" in music["messages"][-1]["content"]
        assert "about 30 seconds" in music["messages"][-1]["content"]
        speech = api.paths("/v1/text-to-speech/")
        assert len(speech) == 2 and all(r["path"] == "/v1/text-to-speech/narrator-2" for r in speech)
        assert all(r["body"]["language_code"] == "fr" and r["body"]["model_id"] == "eleven_v3" for r in speech)
        assert all(r["body"]["text"].startswith("[happy] ") for r in speech), "v3 reads the emotion as an audio tag"
        [composed] = api.paths("/v1/music")
        assert composed["body"]["music_length_ms"] == 30_000, "the music is asked for the film's length"
        clips = [c["body"]["input"] for c in replicate_api.creates("seedance")]
        assert len(clips) == 2 and all(c["aspect_ratio"] == "9:16" and c["resolution"] == "1080p" for c in clips)
        assert all(c["duration"] in (5, 10) for c in clips)
    finally:
        replicate_api.close()


def test_a_voice_id_the_account_does_not_have_fails_with_the_voices_it_has(tmp_path, api):
    from .fake_replicate import FakeReplicate

    replicate_api = FakeReplicate()
    try:
        sets = ["NumOfSegments=1", "VoiceId=nobody", "narration.model=elevenlabs"]
        runner, root, env = _remote_film(tmp_path, api, replicate_api, "wrong", sets)
        result = runner.invoke(app, ["--root", root, "regenerate", "wrong", "--yes"], env=env)
        output = " ".join(result.output.split())
        assert result.exit_code == 1 and "voice id 'nobody' is not one of this account's voices" in output
        assert "narrator-2 (Narrator-2)" in output and not api.paths("/v1/text-to-speech/")
    finally:
        replicate_api.close()


def test_minimax_speech_on_replicate_gets_the_voice_id_emotion_and_language(tmp_path, api):
    from .fake_replicate import FakeReplicate

    replicate_api = FakeReplicate()
    try:
        sets = [
            "NumOfSegments=1",
            "VoiceId=Wise_Woman",
            "Emotion=sad",
            "Language=de",
            "narration.model=minimax-speech-2.6",
        ]
        runner, root, env = _remote_film(tmp_path, api, replicate_api, "minimax", sets)
        result = runner.invoke(app, ["--root", root, "regenerate", "minimax", "--yes"], env=env)
        assert result.exit_code == 0, result.output
        [speech] = [c["body"]["input"] for c in replicate_api.creates("minimax/speech-2.6-hd")]
        assert (speech["voice_id"], speech["emotion"], speech["language_boost"]) == ("Wise_Woman", "sad", "German")
    finally:
        replicate_api.close()
