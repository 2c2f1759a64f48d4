"""ElevenLabs through its official SDK: narration (text to speech) and music.

The SDK retries rate limits and server errors; speech comes back as 24 kHz PCM and is wrapped as the
WAV every producer here uses.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from movie_assets.errors import InvalidPlugin
from movie_assets.pipeline.prices import shipped_prices
from movie_assets.pipeline.produce import ProduceFn, ProduceRequest, ProduceResult
from movie_assets.producers.providers import TIMEOUT_SETTING, Provider
from movie_assets.producers.remote import ProviderError, as_declared, pcm_to_wav, retry_settings

NAME = "elevenlabs"
DEFAULT_VOICE = "21m00Tcm4TlvDq8ikWAM"  # ElevenLabs' stock narrator voice
PCM_RATE = 24_000


def elevenlabs_producers(credentials: Mapping[str, str]) -> dict[str, ProduceFn]:
    """narration and music."""
    try:
        from elevenlabs.client import ElevenLabs
        from elevenlabs.core.api_error import ApiError
    except ImportError:
        raise InvalidPlugin("the elevenlabs provider needs its SDK: pip install 'movie_assets[elevenlabs]'") from None
    attempts, _ = retry_settings(credentials)
    client = ElevenLabs(
        api_key=credentials["ELEVENLABS_API_KEY"],
        base_url=credentials.get("ELEVENLABS_BASE_URL") or None,
        timeout=float(credentials.get(TIMEOUT_SETTING) or 240),
    )
    options = {"max_retries": attempts - 1}

    def collect(what: str, stream) -> bytes:
        try:
            return b"".join(stream)
        except ApiError as exc:
            raise ProviderError(f"{what}: HTTP {exc.status_code}: {str(exc.body)[:300]}") from None
        except Exception as exc:  # transport errors after the SDK's retries
            raise ProviderError(f"{what}: {type(exc).__name__}: {exc}") from exc

    voices: dict[str, str] = {}  # the account's voices (id -> name), listed once per run

    def checked_voice(voice_id: str) -> str:
        if not voices:
            try:
                listed = client.voices.get_all(request_options=options).voices
            except ApiError as exc:
                raise ProviderError(f"voices: HTTP {exc.status_code}: {str(exc.body)[:300]}") from None
            voices.update({v.voice_id: v.name or v.voice_id for v in listed})
        if voice_id not in voices:
            offered = ", ".join(f"{i} ({n})" for i, n in list(voices.items())[:8])
            raise ProviderError(f"text-to-speech: voice id {voice_id!r} is not one of this account's voices: {offered}")
        return voice_id

    def narration(request: ProduceRequest) -> ProduceResult:
        """The script in the movie's voice id (checked against the account's voices) and language; the v3
        model reads the emotion as an audio tag."""
        model = request.job.model or "eleven_multilingual_v2"
        chosen = request.value("voice_id")
        voice_id = checked_voice(chosen) if chosen else str(request.job.params.get("voice_id", DEFAULT_VOICE))
        text = request.value("script")
        emotion = request.value("emotion")
        if model == "eleven_v3" and emotion and emotion != "neutral":
            text = f"[{emotion}] {text}"
        pcm = collect(
            "text-to-speech",
            client.text_to_speech.convert(
                voice_id=voice_id,
                text=text,
                model_id=model,
                language_code=request.value("language") or None,
                output_format=f"pcm_{PCM_RATE}",
                request_options=options,
            ),
        )
        usd = shipped_prices().price(NAME, model, "narration")
        diagnostics = {"provider": NAME, "model": model, "voice_id": voice_id}
        return ProduceResult({"audio": pcm_to_wav(pcm, PCM_RATE)}, cost=usd or 0.0, diagnostics=diagnostics)

    def music(request: ProduceRequest) -> ProduceResult:
        """A composition as long as the film (the API takes 10 s to 5 min)."""
        seconds = min(max(int(request.value("seconds") or request.job.params.get("seconds", 10)), 10), 300)
        data = collect(
            "music",
            client.music.compose(
                prompt=request.value("prompt"), music_length_ms=seconds * 1000, request_options=options
            ),
        )
        output = request.job.outputs[0]
        usd = shipped_prices().price(NAME, request.job.model, "music")
        audio = as_declared(io.BytesIO(data), output.mime_type, "music")
        return ProduceResult({output.name: audio}, cost=usd or 0.0, diagnostics={"provider": NAME})

    return {"narration": narration, "music": music}


def check(credentials: Mapping[str, str]) -> str:
    """List the models the key can use: authenticated, free."""
    from elevenlabs.client import ElevenLabs

    client = ElevenLabs(
        api_key=credentials["ELEVENLABS_API_KEY"], base_url=credentials.get("ELEVENLABS_BASE_URL") or None
    )
    return f"{len(client.models.list())} models visible"


PROVIDER = Provider(
    NAME, ("ELEVENLABS_API_KEY",), elevenlabs_producers, "narration, music", ("ELEVENLABS_BASE_URL",), check
)
