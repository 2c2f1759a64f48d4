"""Replicate through its official SDK: images, video clips, speech and music from hosted models.

A job's model names the Replicate model (`bytedance/seedream-4`, ...); without one, each media kind
has a default. The prediction is created, polled until it settles (with a timeout) and cancelled if
we give up or are interrupted; its output URL is streamed into the blob store with a size cap and a
content check. Rate limits and gateway errors are retried by the SDK's own transport.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from movie_assets.errors import InvalidPlugin
from movie_assets.pipeline.produce import ProduceFn, ProduceRequest
from movie_assets.producers.providers import Provider
from movie_assets.producers.remote import (
    Fetcher,
    Finished,
    ProviderError,
    cancelled_on_failure,
    media_producers,
    retry_settings,
)
from movie_assets.render.settings import RenderSettings

NAME = "replicate"
DEFAULT_MODELS = {
    "image": "bytedance/seedream-4",
    "video_clip": "bytedance/seedance-1-lite",
    "narration": "minimax/speech-02-hd",
    "music": "stability-ai/stable-audio-2.5",
}


# how a producer's ports become the model's parameters; a producer's `params.input` adds or overrides
def _video_inputs(request: ProduceRequest) -> dict[str, Any]:
    """A shot's prompt, its length rounded up to what the model takes (5 or 10 s; the final cut slows or
    holds a shorter clip), and the movie's aspect ratio and resolution."""
    settings = RenderSettings.of({p: request.value(p) for p in ("aspect", "resolution", "fps") if p in request.inputs})
    import movie_assets.producers.media as media  # numpy and Pillow: only when a clip is made

    seconds = media.shot_seconds(request, 5.0)
    return {
        "prompt": request.value("prompt"),
        "duration": media.allowed_duration(seconds, (5, 10)),
        "aspect_ratio": settings.aspect_ratio,
        "resolution": settings.resolution,
    }


def _speech_inputs(request: ProduceRequest) -> dict[str, Any]:
    """MiniMax speech: the text, and the movie's voice id, emotion and language where set."""
    from movie_assets.producers.openai_provider import LANGUAGES

    inputs: dict[str, Any] = {"text": request.value("script")}
    if request.value("voice_id"):
        inputs["voice_id"] = request.value("voice_id")
    if request.value("emotion"):
        inputs["emotion"] = request.value("emotion")
    if request.value("language"):
        inputs["language_boost"] = LANGUAGES.get(request.value("language"), "Automatic")
    return inputs


MODEL_INPUTS: dict[str, Callable[[ProduceRequest], dict[str, Any]]] = {
    "image": lambda r: {"prompt": r.value("prompt"), "aspect_ratio": r.value("aspect") or "16:9"},
    "video_clip": _video_inputs,
    "narration": lambda r: _speech_inputs(r),
    "music": lambda r: {"prompt": r.value("prompt"), "duration": min(max(int(r.value("seconds") or 10), 1), 190)},
}
SETTLED = ("succeeded", "failed", "canceled")


def _sdk():
    try:
        import httpx
        import replicate
        from replicate.client import RetryTransport
    except ImportError:
        raise InvalidPlugin("the replicate provider needs its SDK: pip install 'movie_assets[replicate]'") from None
    return httpx, replicate, RetryTransport


def replicate_producers(credentials: Mapping[str, str]) -> dict[str, ProduceFn]:
    """image, video_clip, narration and music, each one Replicate prediction."""
    httpx, replicate, retry_transport = _sdk()
    attempts, backoff = retry_settings(credentials)
    transport = retry_transport(
        httpx.HTTPTransport(),
        max_attempts=attempts,
        max_backoff_wait=backoff,
        retryable_methods=["GET", "POST"],  # a 429 or 503 on create means it was not accepted: safe to resend
        retry_status_codes=[429, 503, 504],
    )
    client = replicate.Client(
        api_token=credentials["REPLICATE_API_TOKEN"],
        base_url=credentials.get("REPLICATE_BASE_URL") or None,
        transport=transport,
    )
    fetcher = Fetcher(credentials)
    return media_producers(NAME, DEFAULT_MODELS, MODEL_INPUTS, lambda m, i: _settle(client, m, i, fetcher), fetcher)


def _settle(client, model: str, inputs: dict[str, Any], fetcher: Fetcher) -> Finished:
    """Create a prediction and wait until it settles; cancel it on timeout or interruption."""
    from replicate.exceptions import ReplicateError

    try:
        prediction = client.predictions.create(model=model, input=inputs)
    except ReplicateError as exc:
        raise ProviderError(f"{model}: prediction refused: {exc}") from None
    except Exception as exc:  # transport errors after the SDK's retries
        raise ProviderError(f"{model}: {type(exc).__name__}: {exc}") from exc
    with cancelled_on_failure(prediction.cancel):
        fetcher.wait(
            lambda: prediction.status in SETTLED,
            lambda: f"{model} prediction {prediction.id} still {prediction.status}",
            prediction.reload,
        )
    if prediction.status != "succeeded":
        detail = prediction.error or "no detail"
        raise ProviderError(f"{model} prediction {prediction.id} {prediction.status}: {detail}")
    where = f"{model} prediction {prediction.id}"
    diagnostics = {"prediction": prediction.id, "predict_time_s": (prediction.metrics or {}).get("predict_time")}
    return Finished(_first_url(prediction.output, where), where, diagnostics)


def _first_url(output: Any, where: str) -> str:
    candidates = output if isinstance(output, list) else [output]
    for item in candidates:
        if isinstance(item, str) and item.startswith(("http://", "https://")):
            return item
    raise ProviderError(f"{where}: no output URL in {str(output)[:200]}")


def check(credentials: Mapping[str, str]) -> str:
    """Read the token's account: authenticated, free."""
    import replicate

    client = replicate.Client(
        api_token=credentials["REPLICATE_API_TOKEN"], base_url=credentials.get("REPLICATE_BASE_URL") or None
    )
    return f"account {client.accounts.current().username}"


PROVIDER = Provider(
    NAME,
    ("REPLICATE_API_TOKEN",),
    replicate_producers,
    "image, video_clip, narration, music",
    ("REPLICATE_BASE_URL",),
    check,
)
