"""`movie-assets providers --check`: prove each configured provider's credentials with the cheapest
call its API offers (list models, or read the account), spending nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping

CheckFn = Callable[[Mapping[str, str]], str]


def _openai(credentials: Mapping[str, str]) -> str:
    import openai

    client = openai.OpenAI(
        api_key=credentials["OPENAI_API_KEY"], base_url=credentials.get("OPENAI_BASE_URL") or None, max_retries=1
    )
    models = client.models.list()
    return f"{len(list(models))} models visible"


def _replicate(credentials: Mapping[str, str]) -> str:
    import replicate

    client = replicate.Client(
        api_token=credentials["REPLICATE_API_TOKEN"], base_url=credentials.get("REPLICATE_BASE_URL") or None
    )
    account = client.accounts.current()
    return f"account {account.username}"


def _elevenlabs(credentials: Mapping[str, str]) -> str:
    from elevenlabs.client import ElevenLabs

    client = ElevenLabs(
        api_key=credentials["ELEVENLABS_API_KEY"], base_url=credentials.get("ELEVENLABS_BASE_URL") or None
    )
    models = client.models.list()
    return f"{len(models)} models visible"


CHECKS: dict[str, CheckFn] = {"openai": _openai, "replicate": _replicate, "elevenlabs": _elevenlabs}


def check_provider(name: str, credentials: Mapping[str, str]) -> tuple[bool, str]:
    """(ok, what the service said) for one configured provider; never raises, never echoes a key."""
    check = CHECKS.get(name)
    if check is None:
        return True, "no check offered (plug-in or offline)"
    try:
        return True, check(credentials)
    except ImportError:
        return False, f"its SDK is not installed: pip install 'movie_assets[{name}]'"
    except Exception as exc:  # the SDKs' own errors: authentication, network, server
        status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
        detail = f"HTTP {status}" if status else type(exc).__name__
        return False, f"{detail}: {_redacted(str(exc), credentials)[:200]}"


def _redacted(text: str, credentials: Mapping[str, str]) -> str:
    for value in credentials.values():
        if value and len(value) > 6:
            text = text.replace(value, "***")
    return text
