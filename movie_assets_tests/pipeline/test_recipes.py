"""The blueprint language's recipes: producer modules, prompt files, model choices and array
artefacts, from one prompt to a story told across segments."""

from __future__ import annotations

import re
import shutil
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.errors import BlueprintError
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_blueprint, load_builtin
from movie_assets.producers.registry import default_registry

from ..helpers import CountingProduce, quick

IDEA = "A lighthouse keeper who finds a message in a bottle"


def _copy_shipped(tmp_path: Path) -> Path:
    """The shipped video-audio-music blueprint with its modules and prompt files, as a user's copy."""
    folder = tmp_path / "mine"
    source = files("movie_assets.blueprints")
    folder.mkdir()
    (folder / "film.yaml").write_text(source.joinpath("video-audio-music.yaml").read_text("utf-8"))
    for sub in ("modules", "prompts"):
        shutil.copytree(str(source.joinpath(sub)), folder / sub)
    return folder


def _film(storage, bp=None, segments: int = 3, **inputs) -> MovieStore:
    store = MovieStore(storage, "film")
    bp = bp or load_builtin("video-audio-music")
    store.init(bp, quick(bp, {"InquiryPrompt": IDEA, "NumOfSegments": segments, **inputs}))
    assert store.regenerate(CountingProduce()).committed
    return store


def test_one_prompt_becomes_one_story_told_across_the_segments(local_storage):
    # full lines (a quick film's are a few words), told over a film's sound alone: the picture is not the point
    store = _film(local_storage, load_builtin("audio-only"), segments=4, Duration=60)
    manifest, _ = store.current()
    lines = [store.blobs.get(manifest.artefacts[f"segment-000{i}/script/text"].blob).decode() for i in range(4)]
    names = [set(re.findall(r"\b[A-Z][a-z]+\b", line)) for line in lines]
    protagonist = set.intersection(*[n for n in names if n]) - {"In", "One", "When", "Halfway", "At"}
    assert protagonist, f"one protagonist runs through every segment: {lines}"
    assert "lighthouse keeper" in " ".join(lines), "the prompt's subject is the story's"
    assert store.blobs.get(manifest.artefacts["story/MovieTitle"].blob).decode().strip()
    assert [a for a in manifest.artefacts if a.startswith("story/NarrationScript[")] == [
        f"story/NarrationScript[{i}]" for i in range(4)
    ], "an array artefact: one item per segment, made by one job"
    assert manifest.jobs["segment-0002/script"].deps["draft[0]=story/NarrationScript[2]"]


def test_a_prompt_file_edit_dirties_exactly_its_producers_jobs_and_plan_says_why(local_storage, tmp_path):
    folder = _copy_shipped(tmp_path)
    store = _film(local_storage, load_blueprint(folder / "film.yaml"))
    prompt = folder / "prompts" / "video_prompt.toml"
    prompt.write_text(prompt.read_text().replace("slow camera move", "handheld camera"))
    applied = CliRunner().invoke(
        app, ["--root", local_storage.root, "blueprints", "apply", "film", str(folder / "film.yaml")]
    )
    assert applied.exit_code == 0, applied.output
    plan = store.plan()
    assert plan.directly_dirty == {f"segment-000{i}/video_prompt" for i in range(3)}
    assert all("prompt template changed" in job.reasons for job in plan.jobs if job.direct)
    outcome = store.regenerate(produce := CountingProduce())
    assert (
        outcome.committed
        and "handheld camera"
        in store.blobs.get(store.current()[0].artefacts["segment-0001/video_prompt/prompt"].blob).decode()
    )
    assert "story" not in produce.calls and "segment-0001/narration" not in produce.calls


def test_switching_a_model_dirties_exactly_that_producer_and_unknown_choices_are_refused(local_storage):
    store = _film(local_storage)
    store.edit({"story.model": "gpt-4o"})
    plan = store.plan()
    assert plan.directly_dirty == {"story"}
    story = next(job for job in plan.jobs if job.job_id == "story")
    assert "model choice offline-story -> gpt-4o" in story.reasons and story.provider == "openai"
    with pytest.raises(BlueprintError, match="choose one of: offline-story, gpt-4o-mini, gpt-4o"):
        store.edit({"story.model": "gpt-5-ultra"})
    refused = CliRunner().invoke(app, ["--root", local_storage.root, "edit", "film", "story.model=nope"])
    assert refused.exit_code == 2 and "offline-story, gpt-4o-mini, gpt-4o" in refused.output
    store.edit({"story.model": None})
    assert not store.plan().has_changes(), "back to the blueprint's choice: nothing to do"


def test_recipe_mistakes_are_reported_with_their_yaml_path(tmp_path):
    folder = _copy_shipped(tmp_path)
    text = (folder / "film.yaml").read_text()
    broken = text.replace(
        "  story:\n    use: modules/story.yaml", "  story:\n    use: modules/story.yaml\n    model_choice: gpt-9"
    )
    with pytest.raises(
        BlueprintError, match="unknown model choice 'gpt-9'; offered: offline-story, gpt-4o-mini, gpt-4o"
    ):
        load_blueprint(broken, base=folder)
    (folder / "prompts" / "video_prompt.toml").write_text('userPrompt = "{{style}} {{mood}}"\n')
    with pytest.raises(BlueprintError, match=r"placeholders \['mood'\] are not inputs of 'video_prompt'"):
        load_blueprint(folder / "film.yaml")
    with pytest.raises(BlueprintError, match="relative to the blueprint's folder"):
        load_blueprint(text)  # no folder to read the module from
    array = text.replace("NarrationScript: {mime_type: text/plain, array: segment}", "")
    (folder / "modules" / "story.yaml").write_text(
        (folder / "modules" / "story.yaml").read_text().replace("array: segment", "array: scene")
    )
    with pytest.raises(BlueprintError, match="'scene' is not a loop this job spans"):
        load_blueprint(array, base=folder)


def test_a_frame_of_the_film_is_a_scene_with_a_readable_caption(local_storage):
    import numpy as np

    from movie_assets.producers.media import decode_mp4

    store = _film(local_storage, segments=2)
    store.edit({"Captions": "burned"})
    assert store.regenerate(default_registry()).committed
    manifest, _ = store.current()
    frames, (width, height) = decode_mp4(store.blobs.get(manifest.artefacts["export/movie"].blob))
    fps, narrated = manifest.timeline.fps, [c for t in manifest.timeline.tracks if t.kind == "audio" for c in t.clips]
    frame = np.frombuffer(frames[int((narrated[0].start + 0.5) * fps)], np.uint8).reshape(height, width, 3)
    frame = frame.astype(float)
    picture, band = frame[: int(height * 0.6)], frame[int(height * 0.75) : int(height * 0.93)]
    assert picture.std() > 20 and len(np.unique(picture.reshape(-1, 3)[:, 0] // 16)) > 4, "a scene, not a flat card"
    assert band.mean() < 110 and (band > 200).mean() > 0.01, "light caption letters on a dark band"
    clip = manifest.artefacts["segment-0000/video_clip/video"].blob
    shots, _ = decode_mp4(store.blobs.get(clip))
    assert shots[0] != shots[-1], "the camera moves (pan and zoom) within a shot"


def test_a_model_parameter_is_part_of_the_signature_of_that_producer_only(local_storage, tmp_path):
    folder = _copy_shipped(tmp_path)
    store = _film(local_storage, load_blueprint(folder / "film.yaml"))
    module = folder / "modules" / "video_clip.yaml"
    seedance = "seedance-lite: {provider: replicate, model: bytedance/seedance-1-lite}"
    module.write_text(module.read_text().replace(seedance, seedance[:-1] + ", params: {input: {duration: 10}}}"))
    store.edit({"video_clip.model": "seedance-lite"})
    plan = store.plan()
    before = {j.job_id: j.producer_version for j in plan.jobs}
    store.set_blueprint(load_blueprint(folder / "film.yaml"))
    plan = store.plan()
    assert plan.directly_dirty == {f"segment-000{i}/video_clip" for i in range(3)}
    clip = next(j for j in plan.jobs if j.job_id == "segment-0000/video_clip")
    assert clip.params["input"] == {"duration": 10} and clip.producer_version != before["segment-0000/video_clip"]
