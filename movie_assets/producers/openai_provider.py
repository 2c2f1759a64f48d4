"""OpenAI through its official SDK: the script with structured output, prompts, images and speech.

Retries (429 with Retry-After, 5xx, lost connections) and timeouts are the SDK's; the script's answer
is validated against its JSON schema before it becomes an artefact.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from movie_assets.errors import InvalidPlugin
from movie_assets.pipeline.prices import shipped_prices
from movie_assets.pipeline.produce import ProduceFn, ProduceRequest, ProduceResult
from movie_assets.producers.remote import ProviderError, as_declared, retry_settings

PROVIDER = "openai"


class SegmentScript(BaseModel):
    """What the script model must answer: the narration of one segment."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class StoryAnswer(BaseModel):
    """What the story model must answer: the film's title, summary and one line per segment."""

    model_config = ConfigDict(extra="forbid")
    MovieTitle: str = Field(min_length=1, max_length=200)
    MovieSummary: str = Field(min_length=1, max_length=2000)
    NarrationScript: list[str] = Field(min_length=1)


def story_format(segments: int) -> dict[str, Any]:
    """JSON schema (structured output) of a story with exactly `segments` narration lines."""
    lines = {"type": "array", "items": {"type": "string"}, "minItems": segments, "maxItems": segments}
    schema = {
        "type": "object",
        "properties": {"MovieTitle": {"type": "string"}, "MovieSummary": {"type": "string"}, "NarrationScript": lines},
        "required": ["MovieTitle", "MovieSummary", "NarrationScript"],
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": "story", "strict": True, "schema": schema}}


SCRIPT_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "segment_script",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"text": {"type": "string", "description": "Two or three spoken sentences."}},
            "required": ["text"],
            "additionalProperties": False,
        },
    },
}


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
        timeout=float(credentials.get("MOVIE_ASSETS_PROVIDER_TIMEOUT") or 600),
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
        usd = shipped_prices().price(PROVIDER, model, request.job.implementation)
        return ProduceResult(outputs, cost=usd or 0.0, diagnostics={"provider": PROVIDER, "model": model})

    def chat(self, request: ProduceRequest, system: str, user: str, **extra: Any) -> str:
        answer = self.call(
            "chat",
            self.client.chat.completions.create,
            model=request.job.model or "gpt-4o-mini",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            **extra,
        )
        try:
            return str(answer.choices[0].message.content or "").strip()
        except (AttributeError, IndexError):
            raise ProviderError(f"chat: unexpected answer {str(answer)[:200]}") from None

    def script(self, request: ProduceRequest) -> ProduceResult:
        text = (request.value("text") or "").strip()
        if not text:
            index = request.job.indices.get("segment", 0)
            raw = self.chat(
                request,
                "You write the narration of one segment of a short film: two or three spoken sentences.",
                f"Film: {request.value('title')}. Topic: {request.value('topic')}. Segment {index + 1}.",
                response_format=SCRIPT_FORMAT,
            )
            try:
                text = SegmentScript.model_validate(json.loads(raw)).text.strip()
            except (ValueError, ValidationError) as exc:
                raise ProviderError(f"script: the answer does not match the script schema: {str(exc)[:200]}") from None
        return self.result(request, {"text": text.encode("utf-8")}, request.job.model or "gpt-4o-mini")

    def story(self, request: ProduceRequest) -> ProduceResult:
        """The whole film's story in one structured answer, checked before it becomes artefacts."""
        lines = [o.name for o in request.job.outputs if o.name.startswith("NarrationScript[")]
        system, user = request.prompt() or ("Write a short film's story.", str(request.value("prompt") or ""))
        raw = self.chat(request, system, user, response_format=story_format(len(lines)))
        try:
            answer = StoryAnswer.model_validate(json.loads(raw))
        except (ValueError, ValidationError) as exc:
            raise ProviderError(f"story: the answer does not match the story schema: {str(exc)[:200]}") from None
        if len(answer.NarrationScript) != len(lines):
            raise ProviderError(f"story: {len(answer.NarrationScript)} narration lines for {len(lines)} segments")
        outputs = {"MovieTitle": (request.value("title") or answer.MovieTitle).encode("utf-8")}
        outputs["MovieSummary"] = answer.MovieSummary.encode("utf-8")
        outputs.update({name: line.encode("utf-8") for name, line in zip(lines, answer.NarrationScript, strict=True)})
        return self.result(request, outputs, request.job.model or "gpt-4o-mini")

    def prompt(self, request: ProduceRequest) -> ProduceResult:
        kind = request.job.params.get("kind", "image")
        if kind == "music":
            brief = f"{request.value('mood')} instrumental score for the film '{request.value('title')}'"
        else:
            brief = f"Style: {request.value('style')}. Narration: {request.value('script')}"
        text = self.chat(request, f"Write one {kind}-generation prompt, a single paragraph, no preamble.", brief)
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
        model = request.job.model or "gpt-4o-mini-tts"
        speech = self.call(
            "speech",
            self.client.audio.speech.create,
            model=model,
            input=request.value("script"),
            voice=request.job.params.get("voice", "alloy"),
            response_format="wav",
        )
        output = request.job.outputs[0]
        audio = as_declared(io.BytesIO(speech.content), output.mime_type, "speech")
        return self.result(request, {output.name: audio}, model)


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", exc))[:300]
