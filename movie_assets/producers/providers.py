"""Networked producer providers (OpenAI, ElevenLabs, plug-ins) behind one small interface.

A provider names the credentials it needs and, given them, returns producer functions keyed by
implementation name (`script`, `image`, `narration`, ...), the same names the offline producers use.
Credentials are handed in by the entry layer (the CLI or the Dagster definitions read the
environment); nothing here or in core reads the environment.

Third-party providers register an entry point in the group `movie_assets.providers` whose object is
a `Provider`.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import numpy as np

import movie_assets.producers.media as media
from movie_assets.errors import InvalidPlugin, InvalidValue
from movie_assets.pipeline.produce import ProduceFn, ProduceRequest, ProduceResult
from movie_assets.producers.remote import ProviderError

ENTRY_POINT_GROUP = "movie_assets.providers"
PCM_RATE = 24_000  # both OpenAI's `pcm` speech format and ElevenLabs' `pcm_24000`: 16-bit LE mono


@dataclass(frozen=True)
class Provider:
    """A family of networked producers: the credentials it needs and how to build its producers."""

    name: str
    credentials: tuple[str, ...]
    build: Callable[[Mapping[str, str]], Mapping[str, ProduceFn]]
    description: str = ""


@dataclass(frozen=True)
class HttpClient:
    """Minimal JSON-over-HTTPS client (stdlib only) with a timeout and readable errors."""

    base_url: str
    headers: Mapping[str, str]
    timeout: float = 120.0
    attempts: int = 4
    backoff: float = 1.0  # seconds before the 2nd attempt, doubling; a Retry-After answer wins (capped)
    sleep: Callable[[float], None] = time.sleep

    def post(self, path: str, payload: Mapping[str, Any], query: Mapping[str, str] | None = None) -> bytes:
        """POST JSON; retries rate limits (429), server errors (5xx) and lost connections, then fails."""
        url = self.base_url.rstrip("/") + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json", **self.headers},
            method="POST",
        )
        for attempt in range(1, self.attempts + 1):
            wait = self.backoff * 2 ** (attempt - 1)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", "replace")
                error = ProviderError(f"POST {path}: HTTP {exc.code}: {detail} (attempt {attempt}/{self.attempts})")
                if exc.code != 429 and exc.code < 500:
                    raise error from None  # our request is wrong: retrying cannot help
                wait = _retry_after(exc.headers.get("Retry-After"), wait)
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                error = ProviderError(f"POST {path}: {reason} (attempt {attempt}/{self.attempts})")
            if attempt < self.attempts:
                self.sleep(wait)
        raise error

    def post_json(self, path: str, payload: Mapping[str, Any]) -> Any:
        raw = self.post(path, payload)
        try:
            return json.loads(raw)
        except ValueError:
            raise ProviderError(f"POST {path}: answer is not JSON: {raw[:120]!r}") from None


def client_for(base_url: str, headers: Mapping[str, str], settings: Mapping[str, str]) -> HttpClient:
    """An HttpClient with the retry settings given (MOVIE_ASSETS_PROVIDER_ATTEMPTS / _BACKOFF)."""
    try:
        attempts = int(settings.get(ATTEMPTS_SETTING) or 4)
        backoff = float(settings.get(BACKOFF_SETTING) or 1.0)
    except ValueError:
        raise InvalidValue(f"{ATTEMPTS_SETTING} must be an integer and {BACKOFF_SETTING} a number of seconds") from None
    if attempts < 1 or backoff < 0:
        raise InvalidValue(f"{ATTEMPTS_SETTING} must be at least 1 and {BACKOFF_SETTING} not negative")
    return HttpClient(base_url, headers, attempts=attempts, backoff=backoff)


def _retry_after(header: str | None, default: float, cap: float = 60.0) -> float:
    try:
        return min(max(float(header), 0.0), cap) if header is not None else default
    except ValueError:
        return default  # an HTTP date: use our own backoff


def pcm_to_wav(pcm: bytes, rate: int = PCM_RATE) -> bytes:
    """16-bit LE mono PCM at `rate` -> the WAV format every producer uses (mono, media.SAMPLE_RATE)."""
    if len(pcm) % 2:
        pcm = pcm[:-1]
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32767.0
    return media.wav_bytes(media.resample(samples, rate, media.SAMPLE_RATE))


def _field(answer: Any, *path: str | int) -> Any:
    try:
        for key in path:
            answer = answer[key]
        return answer
    except (KeyError, IndexError, TypeError):
        raise ProviderError(f"unexpected answer, no {'/'.join(map(str, path))}: {str(answer)[:200]}") from None


# ---- OpenAI ----------------------------------------------------------------------------------------


def openai_producers(credentials: Mapping[str, str]) -> dict[str, ProduceFn]:
    """Script and prompts (chat completions), images (images API), narration (speech API)."""
    client = client_for(
        credentials.get("OPENAI_BASE_URL") or "https://api.openai.com/v1",
        {"Authorization": f"Bearer {credentials['OPENAI_API_KEY']}"},
        credentials,
    )

    def chat(request: ProduceRequest, system: str, user: str) -> str:
        answer = client.post_json(
            "/chat/completions",
            {
                "model": request.job.model or "gpt-4o-mini",
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            },
        )
        return str(_field(answer, "choices", 0, "message", "content")).strip()

    def script(request: ProduceRequest) -> ProduceResult:
        text = (request.value("text") or "").strip()
        if not text:
            index = request.job.indices.get("segment", 0)
            text = chat(
                request,
                "You write the narration of one segment of a short film: two or three spoken sentences.",
                f"Film: {request.value('title')}. Topic: {request.value('topic')}. Segment {index + 1}.",
            )
        return ProduceResult({"text": text.encode("utf-8")}, diagnostics={"provider": "openai"})

    def prompt(request: ProduceRequest) -> ProduceResult:
        kind = request.job.params.get("kind", "image")
        if kind == "music":
            brief = f"{request.value('mood')} instrumental score for the film '{request.value('title')}'"
        else:
            brief = f"Style: {request.value('style')}. Narration: {request.value('script')}"
        text = chat(request, f"Write one {kind}-generation prompt, a single paragraph, no preamble.", brief)
        return ProduceResult({"prompt": text.encode("utf-8")}, diagnostics={"provider": "openai"})

    def image(request: ProduceRequest) -> ProduceResult:
        answer = client.post_json(
            "/images/generations",
            {"model": request.job.model or "gpt-image-1", "prompt": request.value("prompt"), "size": "1024x1024"},
        )
        try:
            png = base64.b64decode(_field(answer, "data", 0, "b64_json"), validate=True)
        except ValueError:
            raise ProviderError("images answer: b64_json is not base64") from None
        return ProduceResult({"image": png}, diagnostics={"provider": "openai"})

    def narration(request: ProduceRequest) -> ProduceResult:
        pcm = client.post(
            "/audio/speech",
            {
                "model": request.job.model or "gpt-4o-mini-tts",
                "input": request.value("script"),
                "voice": request.job.params.get("voice", "alloy"),
                "response_format": "pcm",
            },
        )
        return ProduceResult({"audio": pcm_to_wav(pcm)}, diagnostics={"provider": "openai"})

    return {"script": script, "prompt": prompt, "image": image, "narration": narration}


# ---- ElevenLabs ------------------------------------------------------------------------------------


def elevenlabs_producers(credentials: Mapping[str, str]) -> dict[str, ProduceFn]:
    """Narration through ElevenLabs text-to-speech (raw PCM, wrapped as WAV)."""
    client = client_for(
        credentials.get("ELEVENLABS_BASE_URL") or "https://api.elevenlabs.io",
        {"xi-api-key": credentials["ELEVENLABS_API_KEY"]},
        credentials,
    )

    def narration(request: ProduceRequest) -> ProduceResult:
        voice = urllib.parse.quote(str(request.job.params.get("voice_id", "21m00Tcm4TlvDq8ikWAM")), safe="")
        pcm = client.post(
            f"/v1/text-to-speech/{voice}",
            {"text": request.value("script"), "model_id": request.job.model or "eleven_multilingual_v2"},
            query={"output_format": f"pcm_{PCM_RATE}"},
        )
        return ProduceResult({"audio": pcm_to_wav(pcm)}, diagnostics={"provider": "elevenlabs"})

    return {"narration": narration}


def _replicate(credentials: Mapping[str, str]) -> Mapping[str, ProduceFn]:
    from movie_assets.producers.replicate_provider import replicate_producers  # its SDK is an optional extra

    return replicate_producers(credentials)


BUILTIN_PROVIDERS = {
    "openai": Provider("openai", ("OPENAI_API_KEY",), openai_producers, "script, prompt, image, narration"),
    "elevenlabs": Provider("elevenlabs", ("ELEVENLABS_API_KEY",), elevenlabs_producers, "narration"),
    "replicate": Provider("replicate", ("REPLICATE_API_TOKEN",), _replicate, "image, video_clip, narration, music"),
}
ATTEMPTS_SETTING, BACKOFF_SETTING = "MOVIE_ASSETS_PROVIDER_ATTEMPTS", "MOVIE_ASSETS_PROVIDER_BACKOFF"
OPTIONAL_SETTINGS = (
    "OPENAI_BASE_URL",
    "ELEVENLABS_BASE_URL",
    "REPLICATE_BASE_URL",
    ATTEMPTS_SETTING,
    BACKOFF_SETTING,
    "MOVIE_ASSETS_PROVIDER_TIMEOUT",
    "MOVIE_ASSETS_PROVIDER_POLL",
    "MOVIE_ASSETS_MAX_OUTPUT_BYTES",
)


def discover_providers() -> dict[str, Provider]:
    """Built-in providers plus those registered under the `movie_assets.providers` entry point group."""
    found = dict(BUILTIN_PROVIDERS)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        provider = entry.load()
        if not isinstance(provider, Provider):
            raise InvalidPlugin(f"entry point {entry.name!r} ({entry.value}) is not a movie_assets Provider")
        found[provider.name] = provider
    return found


def credentials_from(environ: Mapping[str, str], providers: Mapping[str, Provider]) -> dict[str, dict[str, str]]:
    """Per provider whose every credential is set in `environ`: its credentials and optional settings."""
    out = {}
    for name, provider in providers.items():
        if all(environ.get(key) for key in provider.credentials):  # none needed: always available
            keys = provider.credentials + OPTIONAL_SETTINGS
            out[name] = {key: environ[key] for key in keys if environ.get(key)}
    return out
