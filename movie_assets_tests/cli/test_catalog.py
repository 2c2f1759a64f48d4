"""The command line a user expects: list, logs, adopt, global options after the command, describe."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import builtin_blueprints, load_builtin
from movie_assets.producers.registry import default_registry


@pytest.fixture
def made(local_storage) -> MovieStore:
    store = MovieStore(local_storage, "film")
    store.init(load_builtin("audio-only"), {"InquiryPrompt": "A fox in the snow", "NumOfSegments": 2})
    assert store.regenerate(default_registry()).committed
    return store


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


def test_list_shows_each_movie_with_its_blueprint_live_revision_pending_edits_and_cost(made):
    made.edit({"Voice": "bright"})
    other = MovieStore(made.storage, "draft")
    other.init(load_builtin("music-only"), {"Title": "Song"})
    result = _cli("list", "--root", made.storage.root)
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.startswith("│")}
    assert set(rows) == {"film", "draft"}
    assert "audio-only" in rows["film"] and "rev-0001" in rows["film"] and "│ 1 " in rows["film"]
    assert "music-only" in rows["draft"] and "rev-0000" in rows["draft"]
    assert "2 movie(s)" in result.output


def test_every_run_writes_a_log_that_logs_prints(made):
    made.edit({"SegmentText[1]": "A new line."})
    assert made.regenerate(default_registry()).committed
    newest = _cli("logs", "film", "--root", made.storage.root)
    assert newest.exit_code == 0, newest.output
    assert newest.output.startswith("== rev-0002 run started")
    assert "plan  segment-0001/script: input SegmentText[1] changed" in newest.output
    assert "ran      segment-0001/narration  offline/tones" in newest.output and "finished" in newest.output
    first = _cli("logs", "film", "-r", "rev-0001", "--root", made.storage.root).output
    assert "ran      story  offline" in first and "9 ran" in first
    missing = _cli("logs", "film", "-r", "rev-0009", "--root", made.storage.root)
    assert missing.exit_code == 2 and "film has no log for rev-0009" in missing.output


def test_a_failed_job_is_in_the_log_with_its_error(made):
    def broken(request):
        if request.job.producer == "music":
            raise RuntimeError("the music service is down")
        return default_registry()(request)

    made.edit({"MusicMood": "tense"})
    assert not made.regenerate(broken).committed
    log = _cli("logs", "film", "--root", made.storage.root).output
    assert "FAILED   music" in log and "the music service is down" in log


def test_an_edited_readable_copy_is_named_by_status_plan_and_verify_until_adopted(made):
    copy = made.fs.resolve("artifacts/text/segment-0000/script/text.txt")
    with open(copy, "w") as handle:
        handle.write("My own words for the first segment.")
    root = made.storage.root
    for command in ("status", "plan"):
        said = " ".join(_cli(command, "film", "--root", root).output.split())
        assert "edited readable copies (not inputs): artifacts/text/segment-0000/script/text.txt" in said
    verify = _cli("verify", "film", "--root", root)
    assert verify.exit_code != 0 and "no longer matches segment-0000/script/text" in " ".join(verify.output.split())

    adopted = _cli("adopt", "film", "--root", root)
    assert adopted.exit_code == 0 and "adopted artifacts/text/segment-0000/script/text.txt" in adopted.output
    assert "edited readable copies" not in _cli("plan", "film", "--root", root).output
    assert made.regenerate(default_registry()).committed
    manifest, _ = made.current()
    text = made.blobs.get(manifest.artefacts["segment-0000/script/text"].blob).decode()
    assert text == "My own words for the first segment." and _cli("verify", "film", "--root", root).exit_code == 0


def test_adopting_a_copy_that_was_not_edited_is_one_clear_line(made):
    result = _cli("adopt", "film", "artifacts/text/story/MovieTitle.txt", "--root", made.storage.root)
    assert result.exit_code == 2 and "not an edited readable copy of film" in result.output
    assert "no readable copy was edited" in _cli("adopt", "film", "--root", made.storage.root).output


def test_the_root_is_accepted_after_the_command_too(made, tmp_path):
    before = _cli("--root", made.storage.root, "status", "film").output
    after = _cli("status", "film", "--root", made.storage.root).output
    assert "film live: rev-0001" in before and before.splitlines()[0] == after.splitlines()[0]
    nested = _cli("blueprints", "list", "--root", str(tmp_path / "elsewhere"))
    assert nested.exit_code == 0 and "audio-only" in nested.output


def test_describe_lists_every_producers_model_choices_with_provider_and_price():
    for name in builtin_blueprints():
        result = _cli("blueprints", "describe", name)
        assert result.exit_code == 0, result.output
        text = " ".join(result.output.split())
        for producer, spec in load_builtin(name).producers.items():
            for choice_id, choice in spec.models.items():
                assert f"│ {producer} │ {choice_id}" in text, f"{name}: {producer}.{choice_id} is not listed"
                assert choice.provider in text
    vam = " ".join(_cli("blueprints", "describe", "video-audio-music").output.split())
    assert "16:9 | 9:16 | 1:1 | 4:3" in vam and "5..3600" in vam and "gpt-5-mini │ openai │ gpt-5-mini │ 0.004" in vam


def test_providers_lists_the_kinds_and_models_each_provider_serves():
    from movie_assets.cli.demo import _shipped_models

    offered = _shipped_models()
    assert "narration.minimax-speech-2.6: minimax/speech-2.6-hd" in offered["replicate"]
    assert "image.qwen-image: qwen/qwen-image" in offered["replicate"]
    assert "story.gpt-5-mini: gpt-5-mini" in offered["openai"] and "narration.elevenlabs-v3" in offered["elevenlabs"]
    text = _cli("providers").output
    assert "qwen-image" in text and "image, video_clip, narration, music" in text


def test_dev_starts_dagster_and_the_viewer_linked_to_each_other(tmp_path, monkeypatch):
    import subprocess

    started = []

    class Child:
        def __init__(self, args, env):
            started.append((args, env))
            self.returncode = 0

        def poll(self):
            return 0  # both exit at once: the command stops them and returns

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(subprocess, "Popen", Child)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    result = _cli("dev", "--port", "3999", "--viewer-port", "8999", "--root", str(tmp_path / "builds"))
    assert result.exit_code == 0, result.output
    (viewer, env), (dagster, same) = started
    assert viewer[-4:] == ["--port", "8999", "--dagster-url", "http://127.0.0.1:3999"]
    assert dagster[3:7] == ["-m", "dagster", "dev", "-m"] and dagster[-2:] == ["-p", "3999"]
    assert "dequeue_interval_seconds: 1" in (tmp_path / ".dagster_home" / "dagster.yaml").read_text()
    assert env["MOVIE_ASSETS_VIEWER_URL"] == "http://127.0.0.1:8999" == same["MOVIE_ASSETS_VIEWER_URL"]
    assert env["MOVIE_ASSETS_ROOT"] == str(tmp_path / "builds") and env["DAGSTER_HOME"] == str(
        tmp_path / ".dagster_home"
    )
