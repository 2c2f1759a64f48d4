"""The film a user gets: its size, frame rate, sound, voice, captions and title, measured with ffmpeg and
kept as frames in test-artifacts/ to look at."""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from movie_assets.lifecycle.exports import final_artefact
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers import media, voice
from movie_assets.producers.registry import default_registry
from movie_assets.render.captions import wrap
from movie_assets.render.cut import caption_image
from movie_assets.render.ffmpeg import run
from movie_assets_tests.helpers import film_info, frozen_seconds, loudness_of

pytestmark = pytest.mark.film
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PICTURES = ["video-audio-music", "image-audio", "image-only", "video-only"]
LONG = (
    "The keeper counts the ships that pass in the night, and writes each name in a book that nobody reads, "
    "until one winter a name comes back to her across the water, spoken by a voice she has heard before, "
    "and she climbs the stairs with the lamp in her hand to answer it, though the storm is rising and the "
    "bell rings on its own, and the gulls are gone, and the sea is louder than it has been in forty years."
)


def _frames(data: bytes, name: str, times: dict[str, float]) -> list[Path]:
    """Frames of a film at the given times, saved as PNGs under test-artifacts/ (for a person to look at)."""
    SHOTS.mkdir(exist_ok=True)
    source = SHOTS / f"{name}.mp4"
    source.write_bytes(data)
    out = []
    for label, t in times.items():
        path = SHOTS / f"film-{name}-{label}.png"
        run(["-ss", f"{t:.3f}", "-i", str(source), "-frames:v", "1", str(path)], "frame")
        out.append(path)
    source.unlink()
    return out


def _build(storage, name: str, **inputs) -> tuple[MovieStore, bytes]:
    store = MovieStore(storage, name)
    # eight seconds show every stage of a film (title, shot, fades) without paying for twenty
    bp = load_builtin(name)
    given = {"Title": "The Keeper of Lost Signals", "Duration": 8, "NumOfSegments": 1}
    if name == "image-only":
        given.update(ImagesPerSegment=1, SegmentDuration=3)
    store.init(bp, {k: v for k, v in {**given, **inputs}.items() if k in bp.inputs})
    assert store.regenerate(default_registry()).committed
    manifest, _ = store.current()
    return store, store.blobs.get(final_artefact(manifest)[1].blob)


@pytest.mark.parametrize("name", PICTURES)
def test_a_vertical_1080p_film_is_rendered_at_exactly_that_size_with_no_frozen_frames(local_storage, name):
    store, data = _build(local_storage, name, AspectRatio="9:16", Resolution="1080p", Fps=24)
    info = film_info(data)
    assert (info.width, info.height, info.fps) == (1080, 1920, 24)
    assert info.sample_rate == 48000 and info.channels == 2
    assert frozen_seconds(data) < 0.05 * info.duration
    timeline = store.current()[0].timeline
    shots = _frames(data, f"{name}-9x16", {"title": 1.0, "mid": timeline.title_seconds + 1.2})
    assert all(path.stat().st_size > 10_000 for path in shots), "frames with a picture in them"


def test_the_offline_narration_is_speech_not_tones():
    if voice.piper_voice() is None:
        pytest.skip("the [voice] extra is not installed")
    short, _ = voice.speak("A gull calls.", "calm")
    long, name = voice.speak(LONG[:200], "calm")
    assert name == "piper/en_US-joe-medium"
    assert media.audio_seconds(long) > 3 * media.audio_seconds(short), "its length follows the text"
    assert _speech_like(long), "energy in the voice band with moving formants"
    tones = media.wav_bytes(media.speech_like(LONG[:200], 180.0))
    assert not _speech_like(tones), "the check tells tones apart"


def _speech_like(wav_data: bytes) -> bool:
    """Most energy within 300-3400 Hz, and a spectrum whose shape keeps changing (formants move) rather
    than a few fixed pure tones: many distinct dominant frequencies and a wide spread of centroids."""
    with wave.open(io.BytesIO(wav_data)) as src:
        rate = src.getframerate()
        samples = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2").astype(np.float32)
    frame = int(0.03 * rate)
    centroids, peaks, band, total = [], set(), 0.0, 0.0
    freqs = np.fft.rfftfreq(frame, 1 / rate)
    for start in range(0, len(samples) - frame, frame):
        spectrum = np.abs(np.fft.rfft(samples[start : start + frame] * np.hanning(frame))) ** 2
        energy = spectrum.sum()
        if energy < 1e3 * frame:
            continue
        band += spectrum[(freqs >= 300) & (freqs <= 3400)].sum()
        total += energy
        centroids.append(float((freqs * spectrum).sum() / energy))
        peaks.add(int(freqs[int(np.argmax(spectrum))] // 50))
    if not centroids:
        return False
    return band / total > 0.5 and len(peaks) > 12 and float(np.std(centroids)) > 150


def test_captions_follow_the_narration_in_order_as_srt_and_webvtt(local_storage):
    store, data = _build(local_storage, "video-audio-music", NumOfSegments=2, Resolution="480p")
    manifest, _ = store.current()
    srt = store.fs.read(f"exports/{manifest.revision}.srt").decode()
    vtt = store.fs.read(f"exports/{manifest.revision}.vtt").decode()
    assert vtt.startswith("WEBVTT")
    narrated = [c for t in manifest.timeline.tracks if t.kind == "audio" for c in t.clips]
    stamps = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)", srt)
    assert len(stamps) == len(narrated) == 2
    for clip, stamp in zip(narrated, stamps, strict=True):
        start = int(stamp[0]) * 3600 + int(stamp[1]) * 60 + int(stamp[2]) + int(stamp[3]) / 1000
        assert abs(start - clip.start) < 0.002 and " ".join(clip.text.split())[:20] in " ".join(srt.split())
    assert narrated[0].start >= manifest.timeline.title_seconds > 0, "the title card comes first"


def test_a_400_character_caption_is_wrapped_whole_and_burned_in(local_storage):
    text = LONG[:400]
    lines = wrap(text, 40)
    assert " ".join(lines) == " ".join(text.split()) and all(len(line) <= 40 for line in lines), "never cut"
    overlay = caption_image(text, 1280, 720)
    box = overlay.getbbox()
    assert box is not None and box[0] >= 0 and box[2] <= 1280 and box[1] > 0, "inside the frame"
    burned = {"Captions": "burned", "SegmentText": [text], "Resolution": "720p", "Fps": 12}
    store, data = _build(local_storage, "video-audio-music", **burned)
    timeline = store.current()[0].timeline
    [mid] = _frames(data, "burned-caption", {"mid": timeline.title_seconds + 1.5})
    assert mid.stat().st_size > 10_000
    assert loudness_of(data)["integrated_lufs"] == pytest.approx(-16, abs=1)


def test_a_one_segment_edit_re_encodes_that_shot_and_its_two_cross_fades_only(local_storage, monkeypatch):
    import movie_assets.render.cut as cut

    store = MovieStore(local_storage, "film")
    texts = ["The keeper wakes.", "A ship goes by.", "The lamp turns.", "Morning comes."]
    store.init(
        load_builtin("video-audio-music"),
        {"Title": "Chunks", "NumOfSegments": 4, "SegmentText": texts, "Resolution": "480p"},
    )
    assert store.regenerate(default_registry()).committed
    encoded: list[str] = []
    real = cut.run

    def counting(args, what, stdin=None):
        if what.startswith("encode"):
            encoded.append(what)
        return real(args, what, stdin)

    monkeypatch.setattr(cut, "run", counting)
    store.edit({"SegmentText[2]": "The lamp turns, and turns again."})
    assert store.regenerate(default_registry()).committed
    assert sorted(encoded) == ["encode body", "encode fade", "encode fade"], encoded
    data = store.blobs.get(final_artefact(store.current()[0])[1].blob)
    assert frozen_seconds(data) < 0.05 * film_info(data).duration
