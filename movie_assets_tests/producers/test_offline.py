import io
import wave

from PIL import Image
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets_tests.helpers import film_info, frozen_seconds


def test_offline_media_is_real(storage):
    store = MovieStore(storage, "media")
    store.init(load_builtin("image-audio"), {"Title": "Media", "NumOfSegments": 2})
    assert store.regenerate(default_registry()).committed
    manifest, _ = store.current()
    png = store.blobs.get(manifest.artefacts["segment-0001/image-0001/image/image"].blob)
    assert Image.open(io.BytesIO(png)).size == (manifest.timeline.width, manifest.timeline.height)
    wav = store.blobs.get(manifest.artefacts["segment-0000/narration/audio"].blob)
    with wave.open(io.BytesIO(wav)) as audio:
        assert audio.getframerate() in (16000, 22050) and audio.getnframes() > audio.getframerate()
    info = film_info(store.blobs.get(manifest.artefacts["export/movie"].blob))
    assert (info.width, info.height) == (manifest.timeline.width, manifest.timeline.height) and abs(
        info.duration - manifest.timeline.duration
    ) < 0.5
    assert frozen_seconds(store.blobs.get(manifest.artefacts["export/movie"].blob)) < 0.05 * info.duration


def test_cli_flow(tmp_path):
    runner = CliRunner()
    root = str(tmp_path / "builds")
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("Title: CLI film\nNumOfSegments: 2\n")
    ok = runner.invoke(app, ["--root", root, "init", "cli", "-b", "audio-only", "-i", str(inputs)])
    assert ok.exit_code == 0, ok.output
    result = runner.invoke(app, ["--root", root, "regenerate", "cli"])
    assert result.exit_code == 0 and "committed rev-0001" in result.output
    result = runner.invoke(app, ["--root", root, "edit", "cli", "SegmentText[0]=Hello from the CLI."])
    assert result.exit_code == 0
    result = runner.invoke(app, ["--root", root, "plan", "cli"])
    assert "segment-0000/script" in result.output and "SegmentText[0] changed" in result.output
    assert runner.invoke(app, ["--root", root, "status", "cli"]).exit_code == 0
    out = tmp_path / "mix.wav"
    result = runner.invoke(app, ["--root", root, "export", "cli", "export/mix", "-o", str(out)])
    assert result.exit_code == 0 and out.stat().st_size > 1000
    bad = runner.invoke(app, ["--root", root, "edit", "cli", "Nope=1"])
    assert bad.exit_code == 2 and "unknown input 'Nope'" in bad.output
    assert runner.invoke(app, ["--root", root, "show", "../etc"]).exit_code == 2
    assert runner.invoke(app, ["--root", root, "blueprints", "list"]).exit_code == 0
    assert runner.invoke(app, ["--root", root, "blueprints", "describe", "image-audio"]).exit_code == 0
