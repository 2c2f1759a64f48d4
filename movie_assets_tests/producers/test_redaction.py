"""No credential reaches the store, the logs or the terminal, even when a provider's error body echoes the
request's headers (gateways and proxies do)."""

from __future__ import annotations

from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.errors import redact
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.providers import Provider
from movie_assets.producers.registry import default_registry

KEY = "sk-proj-0123456789abcdefSECRET"


def _echoing_gateway(credentials):
    def narration(request):
        headers = {"authorization": f"Bearer {credentials['ECHO_API_KEY']}", "x-api-key": credentials["ECHO_API_KEY"]}
        raise RuntimeError(f"HTTP 502 Bad Gateway: upstream refused the request with headers {headers}")

    return {"narration": narration}


# registered under the provider the shipped blueprint's narration uses, so a shipped blueprint runs it
ECHO = Provider("offline", ("ECHO_API_KEY",), _echoing_gateway, "narration")


def test_a_provider_error_that_echoes_the_key_is_stored_and_shown_without_it(local_storage):
    store = MovieStore(local_storage, "film")
    store.init(load_builtin("audio-only"), {"Title": "Leak", "NumOfSegments": 1})
    produce = default_registry(credentials={"offline": {"ECHO_API_KEY": KEY}}, providers={"offline": ECHO})
    outcome = store.regenerate(produce)
    assert not outcome.committed and outcome.run is not None and outcome.run.failed
    [failure] = [r.error for r in outcome.run.results.values() if r.status == "failed"]
    assert "502 Bad Gateway" in failure and KEY not in failure and "***" in failure, failure
    leaked = [rel for rel in store.fs.list("", hidden=True) if KEY.encode() in store.fs.read(rel)]
    assert leaked == [], "neither the artefact log nor the progress file holds the key"


def test_the_cli_never_prints_a_credential_shaped_value_in_an_error(local_storage, monkeypatch):
    import movie_assets.cli.common as common

    def boom():
        raise common.InvalidValue(f"upstream said: Authorization: Bearer {KEY}")

    monkeypatch.setattr(common, "settings", boom)
    result = CliRunner().invoke(app, ["--root", local_storage.root, "status", "film"])
    assert result.exit_code == 2 and KEY not in result.output and "***" in result.output, result.output


def test_redaction_keeps_ordinary_words_and_hides_key_shapes():
    assert redact("the key frames of a token economy") == "the key frames of a token economy"
    assert KEY not in redact(f"{{'api_key': '{KEY}'}}")
    assert redact("token r8_abcdefghijklmnopqrstu") == "token ***" and redact("r8_abcdefghijklmnopqrstu") == "r8_***"
    assert redact("password hunter2-long", ["hunter2-long"]) == "password ***"
