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

    def narration(request: ProduceRequest) -> ProduceResult:
        model = request.job.model or "eleven_multilingual_v2"
        pcm = collect(
            "text-to-speech",
            client.text_to_speech.convert(
                voice_id=str(request.job.params.get("voice_id", "21m00Tcm4TlvDq8ikWAM")),
                text=request.value("script"),
                model_id=model,
                output_format=f"pcm_{PCM_RATE}",
                request_options=options,
            ),
        )
        usd = shipped_prices().price(NAME, model, "narration")
        diagnostics = {"provider": NAME, "model": model}
        return ProduceResult({"audio": pcm_to_wav(pcm, PCM_RATE)}, cost=usd or 0.0, diagnostics=diagnostics)

    def music(request: ProduceRequest) -> ProduceResult:
        seconds = int(request.job.params.get("seconds", 10))
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
