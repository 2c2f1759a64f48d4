"""YAML from users is parsed without aliases (no "billion laughs"), and a blueprint's files are read only
from its own folder, never through a link."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import movie_assets.blueprints as shipped
from movie_assets.cli import app
from movie_assets.errors import BlueprintError
from movie_assets.pipeline.blueprint.load import load_blueprint

from ..lifecycle.common import small_movie

BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
    f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
    for i in range(8)
)


def _cli(root, *args):
    return CliRunner().invoke(app, ["--root", str(root), *args])


def _bounded(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """The CLI in a process capped at 1 GiB of memory: an expanding alias bomb dies, a refusal does not."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    command = [sys.executable, "-m", "movie_assets.cli", "--root", str(tmp_path / "b"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, preexec_fn=cap)


def test_a_blueprint_alias_bomb_is_refused_by_validate_and_register(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    for verb in ("validate", "register"):
        done = _bounded(["blueprints", verb, str(bomb)], tmp_path)
        assert done.returncode == 2, done.stderr[-500:]
        assert "aliases (*name) are not accepted" in done.stderr and "Traceback" not in done.stderr


def test_an_edit_value_alias_bomb_is_one_clear_line_and_nothing_is_appended(local_storage, tmp_path):
    store = small_movie(local_storage)
    before = len(list(store.events.stream_inputs()))
    nested = "[&a [" + ",".join(['"lol"'] * 9) + "], " + ", ".join(["*a"] * 9) + "]"
    result = _cli(local_storage.root, "edit", "film", f"SegmentText={nested}")  # a whole loop input: YAML
    assert result.exit_code == 2 and "aliases" in result.output, result.output
    typed = _cli(local_storage.root, "edit", "film", "Topic=&a [*a, *a]")  # a string input: the text as typed
    assert typed.exit_code == 0 and store.effective_inputs()["Topic"] == "&a [*a, *a]", typed.output
    before += 1
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text(BOMB)
    from_file = _cli(local_storage.root, "init", "other", "-b", "audio-only", "-i", str(inputs))
    assert from_file.exit_code == 2 and "aliases" in from_file.output, from_file.output
    assert len(list(store.events.stream_inputs())) == before
    assert not local_storage.movie("other").exists("blueprint.yaml")


def _blueprint_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "bp"
    shutil.copytree(Path(shipped.__file__).parent, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return folder


def test_a_prompt_file_that_is_a_link_is_refused(tmp_path):
    folder = _blueprint_folder(tmp_path)
    secret = tmp_path / "secret.toml"
    secret.write_text('systemPrompt = "stolen"\n')
    prompt = folder / "prompts" / "story.toml"  # read by the story module of video-audio-music
    prompt.unlink()
    prompt.symlink_to(secret)
    with pytest.raises(BlueprintError, match="symbolic link"):
        load_blueprint(folder / "video-audio-music.yaml")


def _load_any(folder: Path):
    for path in sorted(folder.glob("*.yaml")):
        load_blueprint(path)


def test_a_linked_prompts_folder_and_a_linked_blueprint_are_refused(tmp_path):
    folder = _blueprint_folder(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(folder / "prompts", elsewhere)
    (folder / "prompts").symlink_to(elsewhere)
    with pytest.raises(BlueprintError, match="symbolic link"):
        _load_any(folder)
    linked = tmp_path / "linked.yaml"
    linked.symlink_to(folder / "audio-only.yaml")
    done = _cli(tmp_path / "b", "blueprints", "validate", str(linked))
    assert done.exit_code == 2 and "symbolic link" in done.output, done.output
