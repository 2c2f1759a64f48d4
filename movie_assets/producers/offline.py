"""Offline producers: real media made deterministically from the job's inputs, no network.

Each charges the shipped price table's simulated price (USD), so metrics and estimates have something
real to aggregate and compare.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from collections.abc import Callable

from PIL import Image

import movie_assets.producers.media as media
import movie_assets.producers.scenes as scenes
from movie_assets.pipeline.prices import shipped_prices
from movie_assets.pipeline.produce import ProduceRequest, ProduceResult
from movie_assets.producers import voice
from movie_assets.producers.providers import OFFLINE
from movie_assets.producers.story import write_story
from movie_assets.render.cut import mix_sound, render_film
from movie_assets.render.settings import TITLE_SECONDS, RenderSettings
from movie_assets.store.hashing import canonical_json
from movie_assets.store.models import TimelineClip, TimelineDocument, TimelineTrack

SHOT_SECONDS = 4.0  # a segment's shot when nothing else decides its length
MUSIC_SECONDS = 8.0
VOICES = {"calm": 180.0, "bright": 260.0, "deep": 120.0}
_WORDS = "light river city night memory signal garden machine voice morning ocean thread window".split()


def _take(request: ProduceRequest) -> tuple[int, ...]:
    """Seed parts of a reroll: nothing for the first take, so first takes keep their bytes."""
    return (request.job.take,) if request.job.take else ()


def story(request: ProduceRequest) -> ProduceResult:
    """The whole film from one prompt: title, summary and one narration line per segment (an array)."""
    idea = request.value("prompt") or request.value("topic") or request.value("title") or "a short film"
    lines = [o.name for o in request.job.outputs if o.name.startswith("NarrationScript[")]
    each = float(request.value("duration") or 0) / max(len(lines), 1)
    told = write_story(idea, len(lines), request.value("audience") or "", request.job.take, each)
    outputs = {"MovieTitle": (request.value("title") or told.title).encode("utf-8")}
    outputs["MovieSummary"] = told.summary.encode("utf-8")
    for name, line in zip(lines, told.lines, strict=True):
        outputs[name] = line.encode("utf-8")
    diagnostics = {"mode": told.mode, "setting": told.setting}
    if (request.value("language") or "en") != "en":  # the offline writer knows one language
        diagnostics["language"] = "the offline storyteller writes English; pick a language model for another"
    return ProduceResult(outputs, diagnostics=diagnostics)


def script(request: ProduceRequest) -> ProduceResult:
    """Narration text of one segment: the user's text if given, else the story's line for it, else
    written from title and topic."""
    index = request.job.indices.get("segment", 0)
    text = (request.value("text") or "").strip() or (request.value("draft") or "").strip()
    if not text:
        title, topic = request.value("title"), request.value("topic")
        seed = media.seed_of(title, topic, index, *_take(request))
        extra = " ".join(_WORDS[(seed >> (4 * k)) % len(_WORDS)] for k in range(4))
        text = f"Part {index + 1} of {title}. A scene about {topic}: {extra}."
    return ProduceResult({"text": text.encode("utf-8")}, cost=0.0001 * len(text))


def prompt(request: ProduceRequest) -> ProduceResult:
    """A readable prompt for the video, image or music model: the producer's template filled in when
    it has one (what a language model would be asked), else a fixed phrasing."""
    kind = request.job.params.get("kind", "image")
    rendered = request.prompt()
    if rendered is not None:
        text = rendered[1]
    elif kind == "music":
        text = (
            f"{request.value('mood')} instrumental score for the film '{request.value('title')}', 8 seconds, loopable"
        )
    else:
        text = f"{request.value('style')} {kind} of: {request.value('script')}"
    return ProduceResult({"prompt": text.encode("utf-8")}, cost=0.0002)


def _settings(request: ProduceRequest) -> RenderSettings:
    """The movie's render settings from the ports that carry them (defaults where a blueprint has none)."""
    ports = ("aspect", "resolution", "fps", "transition", "captions", "fit")
    return RenderSettings.of({port: request.value(port) for port in ports if port in request.inputs})


def _scene(request: ProduceRequest, text: str, index: int, settings: RenderSettings) -> Image.Image:
    seed = media.seed_of(text, index, *_take(request))
    painted = scenes.paint(settings.width, settings.height, seed, text)
    return painted.resize((settings.width, settings.height), Image.Resampling.LANCZOS)


def image(request: ProduceRequest) -> ProduceResult:
    """A still at the movie's size: the scene the prompt describes."""
    picture = _scene(request, request.value("prompt"), request.job.indices.get("image", 0), _settings(request))
    return ProduceResult({"image": media.png_bytes(picture)})


def video_clip(request: ProduceRequest) -> ProduceResult:
    """A shot for the whole of its slot at the movie's size and frame rate: a slow push-in and drift over
    the prompt's scene, so no frame stands still."""
    settings = _settings(request)
    seconds = media.shot_seconds(request, SHOT_SECONDS)
    scene = _scene(request, request.value("prompt"), 0, settings)
    with tempfile.TemporaryDirectory(prefix="movie-assets-", dir=request.scratch) as tmp:
        data = media.clip_from_still(scene, seconds, settings.fps, tmp, seed=media.seed_of(request.value("prompt")))
    return ProduceResult(
        {"video": data}, diagnostics={"seconds": seconds, "size": f"{settings.width}x{settings.height}"}
    )


def narration(request: ProduceRequest) -> ProduceResult:
    """The script spoken by the offline neural voice (the [voice] extra), else in tones (said once); the
    `tones` model choice asks for tones: a quick placeholder while a film is drafted."""
    text = request.value("script")
    spoken = None if request.job.model == "tones" else voice.speak(text, str(request.value("voice") or "calm"))
    if spoken is not None:
        return ProduceResult({"audio": spoken[0]}, diagnostics={"voice": spoken[1], "reading": request.value("voice")})
    pitch = VOICES.get(request.value("voice"), 180.0) * (1 + 0.04 * request.job.take)  # another take, another read
    samples = media.speech_like(text, pitch)
    note = "tones: install the voice with pip install 'movie_assets[voice]'"
    return ProduceResult({"audio": media.wav_bytes(samples)}, cost=0.00002 * len(text), diagnostics={"voice": note})


def music(request: ProduceRequest) -> ProduceResult:
    """A chord progression as long as asked (the film's length), else MUSIC_SECONDS for the export to loop."""
    seconds = float(request.value("seconds") or MUSIC_SECONDS)
    samples = media.music_bed(media.seed_of(request.value("prompt"), *_take(request)), seconds)
    return ProduceResult({"audio": media.wav_bytes(samples)}, cost=0.05)


def timeline(request: ProduceRequest) -> ProduceResult:
    """Place every clip: a title card opens a film with pictures; each segment lasts as long as its
    narration (else `seconds`, else SHOT_SECONDS); visuals fill each segment; music spans the film (or
    `seconds` when it is alone); narration clips carry their words, for captions."""
    settings = _settings(request)
    pictures = "videos" in request.inputs or "images" in request.inputs
    title = str(request.value("title") or "").strip() if "title" in request.inputs else ""
    opening = TITLE_SECONDS if pictures and title else 0.0
    durations = _segment_durations(request)
    starts = [round(opening + sum(durations[:i]), 3) for i in range(len(durations))]
    total = round(opening + sum(durations), 3)
    texts = (
        [request.load(t.blob).decode("utf-8") for t in request.items("scripts")] if "scripts" in request.inputs else []
    )  # type: ignore[arg-type]
    tracks = []
    if "videos" in request.inputs:
        clips = [_clip(v, starts[i], durations[i]) for i, v in enumerate(request.items("videos"))]
        tracks.append(TimelineTrack(kind="video", clips=clips))
    if "images" in request.inputs:
        tracks.append(TimelineTrack(kind="image", clips=_image_clips(request.items("images"), starts, durations)))
    if "narrations" in request.inputs:
        clips = [
            _clip(n, starts[i], durations[i], texts[i] if i < len(texts) else None)
            for i, n in enumerate(request.items("narrations"))
        ]
        tracks.append(TimelineTrack(kind="audio", clips=clips))
    if "music" in request.inputs:
        bed = request.items("music")[0]
        if not durations:  # a music-only piece lasts as long as asked
            total = float(request.value("seconds") or MUSIC_SECONDS) if "seconds" in request.inputs else MUSIC_SECONDS
        tracks.append(TimelineTrack(kind="music", clips=[_clip(bed, 0.0, max(total, 0.001))]))
    document = TimelineDocument(
        duration=total,
        width=settings.width,
        height=settings.height,
        fps=settings.fps,
        tracks=tracks,
        title=title or None,
        title_seconds=opening,
        transition=settings.transition if pictures else 0.0,
        captions=settings.captions,
        fit=settings.fit,
    )
    return ProduceResult({"timeline": canonical_json(document)}, cost=0.0)


def _clip(item, start: float, duration: float, text: str | None = None) -> TimelineClip:
    return TimelineClip(artefact_id=item.id, start=start, duration=duration, blob=item.blob, text=text)


def _segment_durations(request: ProduceRequest) -> list[float]:
    if "narrations" in request.inputs:
        return [round(media.audio_seconds(request.load(n.blob)), 3) for n in request.items("narrations")]  # type: ignore[arg-type]
    if "videos" in request.inputs:
        count = len(request.items("videos"))
    elif "images" in request.inputs:
        count = len({item.indices.get("segment", 0) for item in request.items("images")})
    else:
        return []
    each = float(request.value("seconds")) if "seconds" in request.inputs and request.value("seconds") else SHOT_SECONDS
    return [each] * count


def _image_clips(items: list, starts: list[float], durations: list[float]) -> list[TimelineClip]:
    by_segment: dict[int, list] = {}
    for item in items:
        by_segment.setdefault(item.indices.get("segment", 0), []).append(item)
    clips = []
    for seg, group in sorted(by_segment.items()):
        each = round(durations[seg] / len(group), 3)
        for k, item in enumerate(group):
            clips.append(_clip(item, round(starts[seg] + k * each, 3), each))
    return clips


def export(request: ProduceRequest) -> ProduceResult:
    """The final cut (render/cut.py): an MP4 at the timeline's size and frame rate, or a WAV for a film
    of sound only; its measured loudness is recorded with it."""
    document = TimelineDocument.parse_document(request.value("timeline"), "timeline")
    output = next(iter(o.name for o in request.job.outputs))
    with tempfile.TemporaryDirectory(prefix="movie-assets-", dir=request.scratch) as tmp:
        if request.job.params.get("format", "mp4") == "wav":
            path, loud = mix_sound(document, request.load, tmp, document.duration, "pcm_s16le")
            with open(path, "rb") as handle:
                data = handle.read()
        else:
            data, loud = render_film(document, request.load, tmp, request.cache)
    return ProduceResult({output: data}, cost=0.0, diagnostics={"loudness": loud})


def _priced(fn: Callable[[ProduceRequest], ProduceResult]) -> Callable[[ProduceRequest], ProduceResult]:
    """Offline producers charge the shipped price table's simulated price, so a plan's estimate and
    the reported cost agree to the cent (a real provider reports what it billed instead)."""

    @functools.wraps(fn)
    def priced(request: ProduceRequest) -> ProduceResult:
        result = fn(request)
        job = request.job
        usd = shipped_prices().price(OFFLINE, job.model, job.implementation)
        return dataclasses.replace(result, cost=usd if usd is not None else result.cost)

    return priced


OFFLINE_PRODUCERS = {
    name: _priced(fn)
    for name, fn in {
        "story": story,
        "script": script,
        "prompt": prompt,
        "image": image,
        "video_clip": video_clip,
        "narration": narration,
        "music": music,
        "timeline": timeline,
        "export": export,
    }.items()
}

__all__ = ["OFFLINE_PRODUCERS"]
