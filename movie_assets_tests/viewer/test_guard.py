"""The viewer answers only its own pages: DNS rebinding, cross-origin posts, another browser's token and
unasked-for uploads are refused; spending above the threshold waits for consent."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from movie_assets.producers.registry import default_registry
from movie_assets.viewer import create_app

from .conftest import MOVIE

LOCAL = "http://127.0.0.1:8765"


@pytest.fixture
def app(settings, built):
    return create_app(settings, produce_factory=default_registry)


def _csrf(client: TestClient) -> str:
    page = client.get(f"/movies/{MOVIE}").text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("host", ["attacker.example", "rebound.example:8765", "192.168.1.5:8765"])
def test_a_page_on_another_host_name_gets_nothing_from_the_viewer(app, host):
    client = TestClient(app, base_url=f"http://{host}")
    page = client.get(f"/movies/{MOVIE}")
    assert page.status_code == 421 and "csrf" not in page.text
    assert client.post(f"/movies/{MOVIE}/regenerate", data={"csrf": "x"}).status_code == 421


def test_loopback_names_and_allowed_hosts_are_answered(settings, built):
    assert TestClient(create_app(settings), base_url="http://localhost:8765").get("/").status_code == 200
    assert TestClient(create_app(settings), base_url="http://[::1]:8765").get("/").status_code == 200
    allowed = create_app(settings, allowed_hosts=["films.lan"])
    assert TestClient(allowed, base_url="http://films.lan:8765").get("/").status_code == 200


def test_a_post_from_another_origin_is_refused_before_it_is_read(app, built):
    client = TestClient(app, base_url=LOCAL)
    csrf = _csrf(client)
    before = len(list(built.events.stream_inputs()))
    forged = client.post(
        f"/movies/{MOVIE}/edit",
        data={"key": "SegmentText[1]", "value": "forged", "csrf": csrf},
        headers={"Origin": "http://evil.example"},
    )
    assert forged.status_code == 403 and "may not post here" in forged.text
    same = client.post(
        f"/movies/{MOVIE}/edit",
        data={"key": "SegmentText[1]", "value": "mine", "csrf": csrf},
        headers={"Origin": LOCAL},
        follow_redirects=False,
    )
    assert same.status_code == 303
    assert len(list(built.events.stream_inputs())) == before + 1


def test_one_browsers_token_is_worth_nothing_in_another_browser(app, built):
    alice, mallory = TestClient(app, base_url=LOCAL), TestClient(app, base_url=LOCAL)
    token = _csrf(alice)
    _csrf(mallory)  # mallory has a session of her own
    stolen = mallory.post(f"/movies/{MOVIE}/edit", data={"key": "SegmentText[1]", "value": "x", "csrf": token})
    assert stolen.status_code == 403
    bare = TestClient(app, base_url=LOCAL)  # no session cookie at all: a script with the token alone
    assert (
        bare.post(f"/movies/{MOVIE}/edit", data={"key": "SegmentText[1]", "value": "x", "csrf": token}).status_code
        == 403
    )


def test_an_upload_without_a_token_is_refused_before_its_body_is_read(app, built):
    client = TestClient(app, base_url=LOCAL)
    _csrf(client)
    sent = []

    def body():  # a chunked body: the refusal must come before it is consumed
        for _ in range(64):
            sent.append(1)
            yield b"x" * 65536

    refused = client.post(
        f"/movies/{MOVIE}/override", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert len(sent) < 64, "the body was not read to its end"


def test_a_chunked_body_past_the_limit_is_cut_off(app, built, monkeypatch):
    import movie_assets.viewer.app as viewer_app

    client = TestClient(app, base_url=LOCAL)
    csrf = _csrf(client)

    def body():
        for _ in range(40):
            yield b"key=a&value=" + b"x" * 65536

    cut = client.post(
        f"/movies/{MOVIE}/edit",
        content=body(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": client.headers.get("cookie", "")},
        params={"csrf": csrf},
    )
    assert cut.status_code == 413, (cut.status_code, cut.text[:200])
    assert viewer_app.MAX_FORM_BYTES < 40 * 65536


def test_a_regenerate_above_the_threshold_shows_the_estimate_and_runs_only_once_accepted(settings, built):
    client = TestClient(
        create_app(settings.model_copy(update={"confirm_above_usd": 0.0}), produce_factory=default_registry),
        base_url=LOCAL,
    )
    built.edit({"SegmentText[1]": "A change that costs."})
    csrf = _csrf(client)
    asked = client.post(f"/movies/{MOVIE}/regenerate", data={"csrf": csrf}, follow_redirects=False)
    assert asked.status_code == 200 and "Confirm the spend" in asked.text and "$" in asked.text
    time.sleep(0.2)
    assert built.current()[0].revision == "rev-0001" and built.plan().jobs, "nothing ran"
    approved = asked.text.split('name="approved_usd" value="', 1)[1].split('"', 1)[0]
    assert float(approved) > 0
    go = client.post(
        f"/movies/{MOVIE}/regenerate", data={"csrf": csrf, "approved_usd": approved}, follow_redirects=False
    )
    assert go.status_code == 303
    for _ in range(300):
        state = client.get(f"/movies/{MOVIE}/progress").json()
        if state.get("finished"):
            break
        time.sleep(0.1)
    assert state["status"] == "committed", state
