"""The viewer in a real Chromium (Debian's, driven by Playwright): play the final cut, edit a segment,
regenerate with live progress, and see the new revision's changes. Screenshots go to test-artifacts/."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import uvicorn

from movie_assets.producers.registry import default_registry
from movie_assets.viewer import create_app

from ..servers import free_port, wait_for_port
from .conftest import MOVIE

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (.ci/run installs Debian's)")


@pytest.fixture
def viewer_url(settings, built):
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, produce_factory=default_registry), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()


def _shot(page, name: str, media_loaded: bool = False) -> Path:
    """A full-page screenshot; with `media_loaded`, once every video shows its frame at 0.4 s, served by
    range requests, so the picture shows the frames and not the players' loading rings."""
    loaded = "() => [...document.querySelectorAll('video')].every(v => v.readyState === 4 && !v.seeking)"
    if media_loaded:
        page.wait_for_load_state("networkidle")
        page.wait_for_function(loaded, timeout=20_000)
        page.wait_for_timeout(1_500)  # the controls fade their loading ring out after the data arrives
        page.wait_for_function(loaded, timeout=20_000)  # and nothing was re-rendered meanwhile
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"viewer-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_watch_edit_regenerate_and_compare_in_a_real_browser(viewer_url, page):
    page.goto(f"{viewer_url}/movies/{MOVIE}")
    assert page.locator("h1").first.inner_text() == MOVIE
    assert page.locator("[data-segment]").count() == 3
    assert page.locator(".timeline .clip.video").count() == 3

    # the final cut plays: the browser fetches it with range requests and its clock advances
    page.evaluate("() => { const v = document.querySelector('.final video'); v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('.final video').currentTime > 1", timeout=20_000)
    _shot(page, "movie")

    # edit the second segment's text, then regenerate and follow the live progress
    row = page.locator("form.edit", has=page.locator('input[name="key"][value="SegmentText[1]"]'))
    row.locator('input[name="value"]').fill("A gull calls twice over the dark water.")
    row.locator("button").click()
    page.wait_for_load_state()
    page.locator("#regenerate").click()
    page.wait_for_function(
        "() => document.querySelector('select[name=revision] option').textContent.includes('rev-0002')", timeout=60_000
    )
    assert "live" in page.locator(".picker .pill").inner_text()
    assert page.locator("[data-segment='1'] blockquote").inner_text().startswith("A gull calls twice")
    _shot(page, "after-regenerate", media_loaded=True)

    # the diff: the input that changed, and the segment's media side by side
    page.goto(f"{viewer_url}/movies/{MOVIE}/diff?a=rev-0001&b=rev-0002")
    assert "A gull calls twice over the dark water." in page.locator("#inputs-changed td.new").first.inner_text()
    changed = page.locator(".card.change h3").all_inner_texts()
    assert any("segment-0001/narration/audio" in t for t in changed)
    assert not any("segment-0000" in t for t in changed), "only what the edit reached changed"
    _shot(page, "diff", media_loaded=True)


def test_the_viewer_starts_on_the_command_line_bound_to_loopback(tmp_path):
    import subprocess

    port = free_port()
    proc = subprocess.Popen(
        ["movie-assets", "--root", str(tmp_path / "b"), "view", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status == 200 and b"No movies yet" in response.read()
    finally:
        proc.terminate()
        proc.wait(10)
