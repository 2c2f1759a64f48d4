"""`dagster dev` in a real Chromium: the blueprint's lineage with kinds, a CLI-built movie shown as
materialized, and a CLI edit that the sensor turns into one run of the movie's dirty producers."""

import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext
from movie_assets_tests.helpers import quick

from ..servers import DagsterDev

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MOVIE = "ui-film"
GROUP = "audio_only"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (.ci/run installs Debian's)")


def _materializations(server: DagsterDev, producer: str, partition: str) -> list[dict]:
    data = server.graphql(
        """query M($key: AssetKeyInput!, $p: [String!]) { assetOrError(assetKey: $key) {
             ... on Asset { assetMaterializations(partitions: $p, limit: 10) { runId partition timestamp } } } }""",
        {"key": {"path": [GROUP, producer]}, "p": [partition]},
    )
    return (data["assetOrError"] or {}).get("assetMaterializations") or []


def _wait(what: str, check, seconds: float, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(2)
    pytest.fail(f"{what} within {seconds:.0f} s; dagster dev log:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ui")
    root = tmp_path / "builds"
    store = MovieStore(StorageContext(StorageConfig(root=str(root))), MOVIE)
    store.init(load_builtin("audio-only"), quick(load_builtin("audio-only"), {"Title": "UI film", "NumOfSegments": 2}))
    store.regenerate(default_registry())  # built by the CLI's code path before Dagster ever saw it
    try:
        server = DagsterDev(tmp_path, str(root), executor="in_process", interval=3)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield server, store
    finally:
        server.stop()


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        yield page
        browser.close()


def _open(page, url: str, text: str) -> None:
    """Go to a page, dismiss Dagster's community modal when it shows, and wait for `text`."""
    page.goto(url)
    try:
        page.get_by_text(text, exact=False).first.wait_for(timeout=60_000)
    except Exception:
        _shot(page, "failed")
        raise
    modal = page.get_by_text("Join the Dagster community")
    try:  # it shows once per browser profile, a moment after the first page renders
        modal.wait_for(timeout=5_000 if not getattr(page, "_modal_seen", False) else 500)
        page.get_by_role("button", name="Skip").click()
        modal.wait_for(state="hidden", timeout=10_000)
    except Exception:
        pass
    page._modal_seen = True
    assert not page.get_by_text("Join the Dagster community").is_visible(), "a modal still covers the page"


def _shot(page, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"dagster-{name}.png"
    page.screenshot(path=str(path))
    return path


# dagster dev start-up, the first sensor tick and one run: about a minute on a busy 2-core machine; the
# timeout leaves 3x headroom
@pytest.mark.timeout(600)
def test_lineage_materialized_movie_and_a_sensor_run_in_the_browser(dagster_dev, page, monkeypatch):
    server, store = dagster_dev
    log, env = server.log_path, server.env
    base = f"http://127.0.0.1:{server.port}"
    # the sensor's first tick mirrors the CLI's rev-0001 into Dagster
    _wait("the CLI-built movie mirrored", lambda: _materializations(server, "manifest", MOVIE), 120, log)
    first = _materializations(server, "narration", MOVIE)[0]
    assert first["runId"] == "", "reported from the store, not run by Dagster"

    _open(page, f"{base}/locations/movie_assets.definitions/asset-groups/{GROUP}/lineage", "narration")
    for producer in ("script", "narration", "music", "timeline", "export", "manifest"):
        assert page.get_by_text(producer, exact=True).count() >= 1, producer
    try:  # node colours (materialized, stale) arrive after the graph: let the live data settle first
        page.wait_for_load_state("networkidle", timeout=20_000)
    except Exception:
        pass
    page.wait_for_timeout(1_500)
    _shot(page, "lineage")
    _open(page, f"{base}/assets/{GROUP}/narration", "Kinds")
    kinds = page.get_by_text("Kinds").locator("xpath=following-sibling::*[1]")
    assert kinds.inner_text().strip() == "audio", "the kind badge comes from the producer's outputs"

    _open(page, f"{base}/assets/{GROUP}/manifest?view=partitions", "Materialized (1)")
    assert page.get_by_text("Missing (0)").is_visible(), "a CLI-built movie is not 'never materialized'"
    page.get_by_text(MOVIE, exact=True).first.click()
    page.get_by_text("rev-0001", exact=True).first.wait_for(timeout=30_000)
    _shot(page, "manifest-partitions")

    # an edit through the CLI: the sensor asks one run of the movie's dirty producers and its manifest
    for key, value in env.items():
        if key.startswith("MOVIE_ASSETS_"):
            monkeypatch.setenv(key, value)
    edited = CliRunner().invoke(app, ["edit", MOVIE, "SegmentText[1]=The second scene, rewritten in the UI test."])
    assert edited.exit_code == 0, edited.output
    _wait("rev-0002 committed by the sensor's run", lambda: store.current()[0].revision == "rev-0002", 240, log)
    _wait(
        "the manifest materialized by a run", lambda: _materializations(server, "manifest", MOVIE)[0]["runId"], 60, log
    )
    latest = _materializations(server, "narration", MOVIE)[0]
    assert latest["runId"] != "" and latest["runId"] == _materializations(server, "manifest", MOVIE)[0]["runId"]
    assert store.fs.exists("exports/rev-0002.wav")

    _open(page, f"{base}/runs/{latest['runId']}", "narration")
    page.get_by_text("Success", exact=False).first.wait_for(timeout=30_000)
    # the run's event log streams in after its header: a shot before that shows a spinner, not the run
    page.get_by_text("Loading run logs", exact=False).first.wait_for(state="hidden", timeout=30_000)
    page.get_by_text("Materialized value", exact=False).first.wait_for(timeout=30_000)
    _shot(page, "sensor-run")
    _open(page, f"{base}/assets/{GROUP}/script?partition={MOVIE}", "script")
    page.get_by_text("SegmentText[1] changed", exact=False).first.wait_for(timeout=30_000)
    _shot(page, "script-partition")

    # "Observe" on an input launches a run without a partition: it observes every movie's inputs
    _open(page, f"{base}/assets/{GROUP}/inputs/Title", "Observe")
    page.get_by_role("button", name="Observe").first.click()
    page.get_by_text("Launched run", exact=False).first.wait_for(timeout=30_000)
    _shot(page, "observe-inputs")
    observed = """{ runsOrError(limit: 5) { ... on Runs { results {
        status assetSelection { path } tags { key value } } } } }"""

    def observe_run():
        runs = server.graphql(observed)["runsOrError"]["results"]
        mine = [r for r in runs if [GROUP, "inputs", "Title"] in [k["path"] for k in r["assetSelection"] or []]]
        return mine[0]["status"] if mine and mine[0]["status"] in ("SUCCESS", "FAILURE") else None

    assert _wait("the observation run finished", observe_run, 120, log) == "SUCCESS"
