"""Networked producer providers (OpenAI, ElevenLabs, Replicate, plug-ins) behind one small interface.

A provider names the credentials it needs and, given them, returns producer functions keyed by
implementation name (`script`, `image`, `narration`, ...), the same names the offline producers use.
Each built-in provider is an adapter over its official SDK, an optional extra imported only when the
provider is configured. Credentials are handed in by the entry layer (the CLI or the Dagster
definitions read the environment); nothing here or in core reads the environment.

Third-party providers register an entry point in the group `movie_assets.providers` whose object is
a `Provider`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points

from movie_assets.errors import InvalidPlugin
from movie_assets.pipeline.produce import ProduceFn
from movie_assets.producers.remote import ATTEMPTS_SETTING, BACKOFF_SETTING

ENTRY_POINT_GROUP = "movie_assets.providers"


@dataclass(frozen=True)
class Provider:
    """A family of networked producers: the credentials it needs and how to build its producers."""

    name: str
    credentials: tuple[str, ...]
    build: Callable[[Mapping[str, str]], Mapping[str, ProduceFn]]
    description: str = ""


def _openai(credentials: Mapping[str, str]) -> Mapping[str, ProduceFn]:
    from movie_assets.producers.openai_provider import openai_producers  # SDKs are optional extras

    return openai_producers(credentials)


def _elevenlabs(credentials: Mapping[str, str]) -> Mapping[str, ProduceFn]:
    from movie_assets.producers.elevenlabs_provider import elevenlabs_producers

    return elevenlabs_producers(credentials)


def _replicate(credentials: Mapping[str, str]) -> Mapping[str, ProduceFn]:
    from movie_assets.producers.replicate_provider import replicate_producers  # its SDK is an optional extra

    return replicate_producers(credentials)


def _fal(credentials: Mapping[str, str]) -> Mapping[str, ProduceFn]:
    from movie_assets.producers.fal_provider import fal_producers

    return fal_producers(credentials)


BUILTIN_PROVIDERS = {
    "openai": Provider("openai", ("OPENAI_API_KEY",), _openai, "script, prompt, image, narration"),
    "elevenlabs": Provider("elevenlabs", ("ELEVENLABS_API_KEY",), _elevenlabs, "narration, music"),
    "replicate": Provider("replicate", ("REPLICATE_API_TOKEN",), _replicate, "image, video_clip, narration, music"),
    "fal": Provider("fal", ("FAL_KEY",), _fal, "image, video_clip, music"),
}
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
