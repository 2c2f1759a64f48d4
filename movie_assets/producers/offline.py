"""Offline producers: real media made deterministically from the job's inputs, no network.

Each charges the shipped price table's simulated price (USD), so metrics and estimates have something
real to aggregate and compare.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Callable

from PIL import Image

import movie_assets.producers.media as media
import movie_assets.producers.scenes as scenes
from movie_assets.pipeline.prices import shipped_prices
from movie_assets.pipeline.produce import ProduceRequest, ProduceResult
from movie_assets.producers.providers import OFFLINE
from movie_assets.producers.story import write_story
from movie_assets.store.hashing import canonical_json
from movie_assets.store.models import TimelineClip, TimelineDocument, TimelineTrack

WIDTH, HEIGHT, FPS = 320, 180, 12
CLIP_SECONDS = 2.0
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
    told = write_story(idea, len(lines), request.value("audience") or "", request.job.take)
    outputs = {"MovieTitle": (request.value("title") or told.title).encode("utf-8")}
    outputs["MovieSummary"] = told.summary.encode("utf-8")
    for name, line in zip(lines, told.lines, strict=True):
        outputs[name] = line.encode("utf-8")
    return ProduceResult(outputs)


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


def image(request: ProduceRequest) -> ProduceResult:
    """A still: the scene the prompt describes."""
    text = request.value("prompt")
    seed = media.seed_of(text, request.job.indices.get("image", 0), *_take(request))
    picture = scenes.paint(WIDTH, HEIGHT, seed, text).resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    return ProduceResult({"image": media.png_bytes(picture)})


def video_clip(request: ProduceRequest) -> ProduceResult:
    """A shot: a slow pan and zoom over the prompt's scene, captioned with the line it illustrates."""
    text = request.value("prompt")
    seed = media.seed_of(text, *_take(request))
    scene = scenes.paint(WIDTH, HEIGHT, seed, text)
    caption = scenes.caption_overlay(WIDTH, HEIGHT, text.split(": ", 1)[-1])
    frames = (
        (Image.alpha_composite(frame.convert("RGBA"), caption).convert("RGB") if caption else frame).tobytes()
        for frame in scenes.ken_burns(scene, WIDTH, HEIGHT, int(CLIP_SECONDS * FPS), seed)
    )
    return ProduceResult({"video": media.encode_mp4(frames, WIDTH, HEIGHT, FPS)})


def narration(request: ProduceRequest) -> ProduceResult:
    text = request.value("script")
    pitch = VOICES.get(request.value("voice"), 180.0) * (1 + 0.04 * request.job.take)  # another take, another read
    samples = media.speech_like(text, pitch)
    return ProduceResult({"audio": media.wav_bytes(samples)}, cost=0.00002 * len(text))


def music(request: ProduceRequest) -> ProduceResult:
    samples = media.music_bed(media.seed_of(request.value("prompt"), *_take(request)), MUSIC_SECONDS)
    return ProduceResult({"audio": media.wav_bytes(samples)}, cost=0.05)


def timeline(request: ProduceRequest) -> ProduceResult:
    """Place every clip: segments last as long as their narration (else `seconds` each, else a clip's
    length); visuals fill each segment; music spans the movie (or `seconds` when it is alone)."""
    durations = _segment_durations(request)
    starts = [round(sum(durations[:i]), 3) for i in range(len(durations))]
    total = round(sum(durations), 3)
    tracks = []
    if "videos" in request.inputs:
        clips = [
            TimelineClip(artefact_id=v.id, start=starts[i], duration=durations[i], blob=v.blob)  # type: ignore[arg-type]
            for i, v in enumerate(request.items("videos"))
        ]
        tracks.append(TimelineTrack(kind="video", clips=clips))
    if "images" in request.inputs:
        tracks.append(TimelineTrack(kind="image", clips=_image_clips(request.items("images"), starts, durations)))
    if "narrations" in request.inputs:
        clips = [
            TimelineClip(artefact_id=n.id, start=starts[i], duration=durations[i], blob=n.blob)  # type: ignore[arg-type]
            for i, n in enumerate(request.items("narrations"))
        ]
        tracks.append(TimelineTrack(kind="audio", clips=clips))
    if "music" in request.inputs:
        bed = request.items("music")[0]
        if not durations:  # a music-only piece lasts as long as asked
            total = float(request.value("seconds") or MUSIC_SECONDS) if "seconds" in request.inputs else MUSIC_SECONDS
        clip = TimelineClip(artefact_id=bed.id, start=0.0, duration=max(total, 0.001), blob=bed.blob)  # type: ignore[arg-type]
        tracks.append(TimelineTrack(kind="music", clips=[clip]))
    document = TimelineDocument(duration=total, width=WIDTH, height=HEIGHT, fps=FPS, tracks=tracks)
    return ProduceResult({"timeline": canonical_json(document)}, cost=0.0)


def _segment_durations(request: ProduceRequest) -> list[float]:
    if "narrations" in request.inputs:
        return [round(media.wav_duration(request.load(n.blob)), 3) for n in request.items("narrations")]  # type: ignore[arg-type]
    if "videos" in request.inputs:
        count = len(request.items("videos"))
    elif "images" in request.inputs:
        count = len({item.indices.get("segment", 0) for item in request.items("images")})
    else:
        return []
    each = float(request.value("seconds")) if "seconds" in request.inputs else CLIP_SECONDS
    return [each] * count


def _image_clips(items: list, starts: list[float], durations: list[float]) -> list[TimelineClip]:
    by_segment: dict[int, list] = {}
    for item in items:
        by_segment.setdefault(item.indices.get("segment", 0), []).append(item)
    clips = []
    for seg, group in sorted(by_segment.items()):
        each = round(durations[seg] / len(group), 3)
        for k, item in enumerate(group):
            start = round(starts[seg] + k * each, 3)
            clips.append(TimelineClip(artefact_id=item.id, start=start, duration=each, blob=item.blob))
    return clips


def export(request: ProduceRequest) -> ProduceResult:
    """Render the timeline: mix narration and looped music; MP4 with visuals, or WAV for audio-only."""
    document = TimelineDocument.parse_document(request.value("timeline"), "timeline")
    total = max(int(document.duration * media.SAMPLE_RATE), 1)
    layers = []
    for track in document.tracks:
        if track.kind in ("audio", "music"):
            for clip in track.clips:
                samples, rate = media.read_wav(request.load(clip.blob))
                samples = media.resample(samples, rate)  # plug-in producers may deliver other rates
                start = int(clip.start * media.SAMPLE_RATE)
                if track.kind == "music":  # the bed loops under the whole film, fading in and out
                    samples = _faded_bed(samples, total - start)
                layers.append((samples, start, 1.0 if track.kind == "audio" else 0.25, False))
    audio = media.wav_bytes(media.mix(total, layers))
    output = next(iter(o.name for o in request.job.outputs))
    if request.job.params.get("format", "mp4") == "wav":
        return ProduceResult({output: audio}, cost=0.0)
    frames = list(_timeline_frames(document, request.load))
    return ProduceResult({output: media.encode_mp4(frames, document.width, document.height, document.fps, audio)})


def _faded_bed(samples, length: int):
    """The music looped to `length` samples with a one-second fade-in and a two-second fade-out."""
    import numpy as np

    if length <= 0 or len(samples) == 0:
        return samples[:0]
    looped = np.tile(samples, length // len(samples) + 1)[:length]
    return looped * media.envelope(length, media.SAMPLE_RATE, 2 * media.SAMPLE_RATE)


def _timeline_frames(document: TimelineDocument, load):
    fps = document.fps
    blank = bytes(document.width * document.height * 3)
    visual = [t for t in document.tracks if t.kind in ("video", "image")]
    clips = [c for t in visual for c in t.clips]
    for clip in clips:
        count = max(int(round(clip.duration * fps)), 1)
        if clip.blob.mime_type.startswith("video/"):
            source, size = media.decode_mp4(load(clip.blob))
            if tuple(size) != (document.width, document.height):  # a model's 1280x720 clip in our frame
                source = [_fit(frame, size, document.width, document.height) for frame in source]
        else:
            picture = Image.open(io.BytesIO(load(clip.blob))).convert("RGB")
            seed = media.seed_of(clip.artefact_id)  # a slow pan and zoom over each still
            source = [f.tobytes() for f in scenes.ken_burns(picture, document.width, document.height, count, seed)]
        for n in range(count):
            yield source[min(n, len(source) - 1)] if source else blank
    if not clips:
        yield from (blank for _ in range(max(int(document.duration * fps), 1)))


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


def _fit(frame: bytes, size: tuple[int, int], width: int, height: int) -> bytes:
    return Image.frombytes("RGB", tuple(size), frame).resize((width, height)).tobytes()


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
