"""Networked producer providers (OpenAI, ElevenLabs, Replicate, fal, plug-ins) behind one small record.

Each provider lives in one module (`<name>_provider.py`) that declares a `PROVIDER` record: the
credentials it needs, the optional settings it reads, the kinds of producer it serves, how to build
its producers and how to prove its credentials. Its SDK is an optional extra, imported only when the
provider is built or checked. Credentials are handed in by the entry layer (the CLI or the Dagster
definitions read the environment); nothing here or in core reads the environment.

Third-party providers register an entry point in the group `movie_assets.providers` whose object is
a `Provider`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points

from movie_assets.errors import InvalidPlugin, redact
from movie_assets.pipeline.produce import ProduceFn

ENTRY_POINT_GROUP = "movie_assets.providers"
OFFLINE = "offline"  # the provider that is always there: the offline producers (producers/offline.py)
# settings every networked provider reads (producers/remote.py: retry_settings, Fetcher)
ATTEMPTS_SETTING, BACKOFF_SETTING = "MOVIE_ASSETS_PROVIDER_ATTEMPTS", "MOVIE_ASSETS_PROVIDER_BACKOFF"
TIMEOUT_SETTING, POLL_SETTING = "MOVIE_ASSETS_PROVIDER_TIMEOUT", "MOVIE_ASSETS_PROVIDER_POLL"
MAX_BYTES_SETTING = "MOVIE_ASSETS_MAX_OUTPUT_BYTES"
COMMON_SETTINGS = (ATTEMPTS_SETTING, BACKOFF_SETTING, TIMEOUT_SETTING, POLL_SETTING, MAX_BYTES_SETTING)
BUILTIN_MODULES = ("openai_provider", "elevenlabs_provider", "replicate_provider", "fal_provider")

CheckFn = Callable[[Mapping[str, str]], str]


@dataclass(frozen=True)
class Provider:
    """A family of networked producers: what it needs, what it serves, how to build and check it."""

    name: str
    credentials: tuple[str, ...]
    build: Callable[[Mapping[str, str]], Mapping[str, ProduceFn]]
    description: str = ""  # the kinds of producer it serves, for `movie-assets providers`
    settings: tuple[str, ...] = ()  # optional settings of its own (a base URL), beside COMMON_SETTINGS
    check: CheckFn | None = None  # the cheapest authenticated call its API offers; what it said

    def settings_from(self, environ: Mapping[str, str]) -> dict[str, str]:
        """Its credentials and the settings it reads, as set in `environ`."""
        keys = self.credentials + self.settings + COMMON_SETTINGS
        return {key: environ[key] for key in keys if environ.get(key)}


def builtin_providers() -> dict[str, Provider]:
    """The providers shipped with the package, each from its own module (no SDK is imported)."""
    out = {}
    for module in BUILTIN_MODULES:
        provider = importlib.import_module(f"movie_assets.producers.{module}").PROVIDER
        out[provider.name] = provider
    return out


def discover_providers() -> dict[str, Provider]:
    """Built-in providers plus those registered under the `movie_assets.providers` entry point group."""
    found = builtin_providers()
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        provider = entry.load()
        if not isinstance(provider, Provider):
            raise InvalidPlugin(f"entry point {entry.name!r} ({entry.value}) is not a movie_assets Provider")
        found[provider.name] = provider
    return found


def credentials_from(environ: Mapping[str, str], providers: Mapping[str, Provider]) -> dict[str, dict[str, str]]:
    """Per provider whose every credential is set in `environ`: its credentials and settings."""
    return {
        name: provider.settings_from(environ)
        for name, provider in providers.items()
        if all(environ.get(key) for key in provider.credentials)  # none needed: always available
    }


def check_provider(provider: Provider, credentials: Mapping[str, str]) -> tuple[bool, str]:
    """(ok, what the service said) for one configured provider; never raises, never echoes a secret."""
    if provider.check is None:
        return True, "no check offered (plug-in)"
    try:
        return True, provider.check(credentials)
    except ImportError:
        return False, f"its SDK is not installed: pip install 'movie_assets[{provider.name}]'"
    except Exception as exc:  # the SDKs' own errors: authentication, network, server
        status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
        detail = f"HTTP {status}" if status else type(exc).__name__
        return False, redact(f"{detail}: {str(exc)[:200]}", credentials.values())
