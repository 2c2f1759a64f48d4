"""OpenAI through its official SDK: the script with structured output, prompts, images and speech.

Retries (429 with Retry-After, 5xx, lost connections) and timeouts are the SDK's; the story and the
script are structured output through the SDK's `parse`, with a pydantic model as the only schema.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from movie_assets.errors import InvalidPlugin
from movie_assets.pipeline.prices import shipped_prices
from movie_assets.pipeline.produce import ProduceFn, ProduceRequest, ProduceResult
from movie_assets.producers.providers import TIMEOUT_SETTING, Provider
from movie_assets.producers.remote import ProviderError, as_declared, retry_settings

NAME = "openai"


class SegmentScript(BaseModel):
    """What the script model must answer: the narration of one segment (two or three spoken sentences)."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000, description="Two or three spoken sentences.")


@functools.cache
def story_answer(segments: int) -> type[BaseModel]:
    """What the story model must answer: the film's title, summary and exactly one line per segment. The
    SDK derives the structured-output schema from this model and parses the answer with it."""
    return create_model(
        "story",
        __config__=ConfigDict(extra="forbid"),
        MovieTitle=(str, Field(min_length=1, max_length=200)),
        MovieSummary=(str, Field(min_length=1, max_length=2000)),
        NarrationScript=(list[str], Field(min_length=segments, max_length=segments)),
    )


def openai_producers(credentials: Mapping[str, str]) -> dict[str, ProduceFn]:
    """script (structured output), prompt, image and narration."""
    try:
        import openai
    except ImportError:
        raise InvalidPlugin("the openai provider needs its SDK: pip install 'movie_assets[openai]'") from None
    attempts, _ = retry_settings(credentials)
    client = openai.OpenAI(
        api_key=credentials["OPENAI_API_KEY"],
        base_url=credentials.get("OPENAI_BASE_URL") or None,
        max_retries=attempts - 1,
        timeout=float(credentials.get(TIMEOUT_SETTING) or 600),
    )
    producers = _Producers(openai, client, attempts)
    return {
        "story": producers.story,
        "script": producers.script,
        "prompt": producers.prompt,
        "image": producers.image,
        "narration": producers.narration,
    }


class _Producers:
    def __init__(self, sdk: Any, client: Any, attempts: int) -> None:
        self.sdk, self.client, self.attempts = sdk, client, attempts

    def call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except self.sdk.APIStatusError as exc:
            detail = f"HTTP {exc.status_code}: {_detail(exc)} (after {self.attempts} attempts)"
            raise ProviderError(f"{what}: {detail}") from None
        except self.sdk.APIError as exc:  # connection errors and timeouts, after the SDK's retries
            raise ProviderError(f"{what}: {type(exc).__name__}: {exc}") from None

    @staticmethod
    def result(request: ProduceRequest, outputs: dict[str, Any], model: str) -> ProduceResult:
        usd = shipped_prices().price(NAME, model, request.job.implementation)
        return ProduceResult(outputs, cost=usd or 0.0, diagnostics={"provider": NAME, "model": model})

    def chat(self, request: ProduceRequest, system: str, user: str) -> str:
        answer = self.call(
            "chat",
            self.client.chat.completions.create,
            model=request.job.model or "gpt-4o-mini",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        )
        try:
            return str(answer.choices[0].message.content or "").strip()
        except (AttributeError, IndexError):
            raise ProviderError(f"chat: unexpected answer {str(answer)[:200]}") from None

    def parsed(self, what: str, request: ProduceRequest, system: str, user: str, model: type[BaseModel]) -> Any:
        """A structured answer: the SDK asks for `model`'s schema and parses the answer into it."""
        try:
            answer = self.call(
                what,
                self.client.chat.completions.parse,
                model=request.job.model or "gpt-4o-mini",
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                response_format=model,
            )
            found = answer.choices[0].message.parsed
        except (ValueError, ValidationError, AttributeError, IndexError, self.sdk.OpenAIError) as exc:
            if isinstance(exc, ProviderError):
                raise
            raise ProviderError(f"{what}: the answer does not match the {what} schema: {str(exc)[:200]}") from None
        if found is None:
            raise ProviderError(f"{what}: the model refused or answered nothing")
        return found

    def script(self, request: ProduceRequest) -> ProduceResult:
        """The user's text, else the story's line, else one written by the model."""
        text = (request.value("text") or "").strip() or (request.value("draft") or "").strip()
        if not text:
            index = request.job.indices.get("segment", 0)
            text = self.parsed(
                "script",
                request,
                "You write the narration of one segment of a short film: two or three spoken sentences.",
                f"Film: {request.value('title')}. Topic: {request.value('topic')}. Segment {index + 1}.",
                SegmentScript,
            ).text.strip()
        return self.result(request, {"text": text.encode("utf-8")}, request.job.model or "gpt-4o-mini")

    def story(self, request: ProduceRequest) -> ProduceResult:
        """The whole film's story in one structured answer, checked before it becomes artefacts."""
        lines = [o.name for o in request.job.outputs if o.name.startswith("NarrationScript[")]
        system, user = request.prompt() or ("Write a short film's story.", str(request.value("prompt") or ""))
        answer = self.parsed("story", request, system, user, story_answer(len(lines)))
        outputs = {"MovieTitle": (request.value("title") or answer.MovieTitle).encode("utf-8")}
        outputs["MovieSummary"] = answer.MovieSummary.encode("utf-8")
        outputs.update({name: line.encode("utf-8") for name, line in zip(lines, answer.NarrationScript, strict=True)})
        return self.result(request, outputs, request.job.model or "gpt-4o-mini")

    def prompt(self, request: ProduceRequest) -> ProduceResult:
        """The stage's prompt file asked of the model (its system prompt, then the filled-in template)."""
        kind = request.job.params.get("kind", "image")
        system, user = request.prompt() or (
            f"Write one {kind}-generation prompt, a single paragraph, no preamble.",
            f"Style: {request.value('style')}. Narration: {request.value('script')}",
        )
        text = self.chat(request, system, user)
        return self.result(request, {"prompt": text.encode("utf-8")}, request.job.model or "gpt-4o-mini")

    def image(self, request: ProduceRequest) -> ProduceResult:
        model = request.job.model or "gpt-image-1"
        generate = self.client.images.generate
        answer = self.call("images", generate, model=model, prompt=request.value("prompt"), size="1024x1024")
        try:
            data = base64.b64decode(answer.data[0].b64_json or "", validate=True)
        except (AttributeError, IndexError, TypeError, ValueError):
            raise ProviderError("images: the answer holds no base64 image") from None
        output = request.job.outputs[0]
        return self.result(request, {output.name: as_declared(io.BytesIO(data), output.mime_type, "images")}, model)

    def narration(self, request: ProduceRequest) -> ProduceResult:
        """Speech in the movie's voice id (checked against the SDK's voice list), told the language and
        emotion when the model takes instructions."""
        model = request.job.model or "gpt-4o-mini-tts"
        voice = request.value("voice_id") or request.job.params.get("voice", "alloy")
        known = sdk_voices(self.sdk)
        if known and voice not in known:
            raise ProviderError(f"speech: voice {voice!r} is not an OpenAI voice; choose one of {', '.join(known)}")
        extra = {}
        if model.startswith("gpt-"):  # the tts-1 models take no instructions
            extra["instructions"] = speaking_instructions(request.value("language"), request.value("emotion"))
        speech = self.call(
            "speech",
            self.client.audio.speech.create,
            model=model,
            input=request.value("script"),
            voice=voice,
            response_format="wav",
            **extra,
        )
        output = request.job.outputs[0]
        audio = as_declared(io.BytesIO(speech.content), output.mime_type, "speech")
        return self.result(request, {output.name: audio}, model)


LANGUAGES = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "ja": "Japanese", "zh": "Chinese", "ko": "Korean",
    "hi": "Hindi", "ar": "Arabic", "ru": "Russian", "tr": "Turkish",
}  # fmt: skip


def speaking_instructions(language: str | None, emotion: str | None) -> str:
    """How a narrator that takes instructions should read: the language, and the emotion unless neutral."""
    said = f"Narrate in {LANGUAGES.get(language or 'en', 'English')}, clearly and at an unhurried pace."
    return said if not emotion or emotion == "neutral" else f"{said} Sound {emotion}."


@functools.cache
def sdk_voices(sdk: Any) -> tuple[str, ...]:
    """The voices the installed SDK's speech call declares (its `voice` literal), or () if it declares none."""
    import typing

    try:
        from openai.types.audio import speech_create_params

        hint = typing.get_type_hints(speech_create_params.SpeechCreateParams)["voice"]
    except (ImportError, KeyError, AttributeError, NameError, TypeError):
        return ()
    found: list[str] = []
    stack = [hint]
    while stack:  # a Required[Union[str, Literal[...]]]: collect every literal string
        for arg in typing.get_args(stack.pop()):
            if isinstance(arg, str):
                found.append(arg)
            else:
                stack.append(arg)
    return tuple(found)


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", exc))[:300]


def check(credentials: Mapping[str, str]) -> str:
    """List the models the key can see: authenticated, free."""
    import openai

    client = openai.OpenAI(
        api_key=credentials["OPENAI_API_KEY"], base_url=credentials.get("OPENAI_BASE_URL") or None, max_retries=1
    )
    return f"{len(list(client.models.list()))} models visible"


PROVIDER = Provider(
    NAME, ("OPENAI_API_KEY",), openai_producers, "story, script, prompt, image, narration", ("OPENAI_BASE_URL",), check
)
