"""Deterministic media helpers: WAV synthesis and mixing, PNG frames, MP4 encoding via imageio-ffmpeg."""

from __future__ import annotations

import io
import os
import tempfile
import wave
from collections.abc import Iterable

import numpy as np
from PIL import Image

from movie_assets.store.hashing import sha256_bytes

SAMPLE_RATE = 16_000
BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"]


def seed_of(*parts: object) -> int:
    return int(sha256_bytes("\x1f".join(map(str, parts)).encode())[:16], 16)


def palette(seed: int, n: int = 3) -> list[tuple[int, int, int]]:
    rng = np.random.default_rng(seed)
    return [tuple(int(c) for c in rng.integers(30, 230, size=3)) for _ in range(n)]  # type: ignore[misc]


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono PCM WAV of float samples in [-1, 1]."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data), "rb") as src:
        if src.getsampwidth() != 2 or src.getnchannels() != 1:
            raise ValueError("expected 16-bit mono WAV")
        frames = src.readframes(src.getnframes())
        return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32767.0, src.getframerate()


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Linear resampling (enough for speech and music beds mixed at 16 kHz)."""
    if rate == target or len(samples) == 0:
        return samples
    count = max(int(round(len(samples) * target / rate)), 1)
    return np.interp(np.arange(count) * (rate / target), np.arange(len(samples)), samples).astype(np.float32)


def wav_duration(data: bytes) -> float:
    with wave.open(io.BytesIO(data), "rb") as src:
        return src.getnframes() / float(src.getframerate())


def audio_seconds(data: bytes) -> float:
    """How long a sound lasts: a WAV from its header, anything else (MP3, a model's M4A) as ffmpeg reads it."""
    try:
        return wav_duration(data)
    except (wave.Error, EOFError):
        from movie_assets.render.ffmpeg import probe

        with tempfile.NamedTemporaryFile(prefix="movie-assets-", suffix=".audio") as handle:
            handle.write(data)
            handle.flush()
            return probe(handle.name).duration


def clip_from_still(picture: Image.Image, seconds: float, fps: int, workdir: str, seed: int) -> bytes:
    """An H.264 MP4 of `seconds` at `fps` moving slowly over `picture` (push-in and drift), picture size."""
    from movie_assets.render.cut import ENCODE, push_in
    from movie_assets.render.ffmpeg import BITEXACT, run

    still, out = os.path.join(workdir, "still.png"), os.path.join(workdir, "clip.mp4")
    picture.save(still)
    width, height = picture.size
    motion = f"{push_in(width, height, seconds, seed)},fps={fps},format=yuv420p"
    run(
        [
            "-loop",
            "1",
            "-framerate",
            str(fps),
            "-i",
            still,
            "-vf",
            motion,
            "-t",
            f"{seconds:.3f}",
            *ENCODE,
            *BITEXACT,
            out,
        ],
        "clip",
    )
    with open(out, "rb") as handle:
        return handle.read()


def envelope(n: int, attack: int = 200, release: int = 400) -> np.ndarray:
    env = np.ones(n, dtype=np.float32)
    a, r = min(attack, n // 2), min(release, n // 2)
    if a:
        env[:a] = np.linspace(0, 1, a)
    if r:
        env[-r:] = np.linspace(1, 0, r)
    return env


def speech_like(text: str, base_hz: float, seconds_per_word: float = 0.32) -> np.ndarray:
    """A voice-like tone sequence, one syllable-ish blip per word; length follows the text."""
    words = text.split() or ["..."]
    chunks = []
    for word in words:
        n = int(SAMPLE_RATE * seconds_per_word)
        t = np.arange(n) / SAMPLE_RATE
        f = base_hz * (1 + (seed_of(word) % 7) / 14)
        tone = 0.5 * np.sin(2 * np.pi * f * t) + 0.2 * np.sin(2 * np.pi * 2 * f * t)
        chunks.append((tone * envelope(n, 300, 900)).astype(np.float32))
        chunks.append(np.zeros(int(SAMPLE_RATE * 0.05), dtype=np.float32))
    return np.concatenate(chunks) * 0.6


def music_bed(seed: int, seconds: float) -> np.ndarray:
    """A gentle four-chord progression, deterministic in the seed, repeated for `seconds` (a chord about
    every two seconds)."""
    rng = np.random.default_rng(seed)
    roots = 110 * 2 ** (rng.integers(0, 12, size=4) / 12)
    count = max(4, round(seconds / 2))
    per = int(SAMPLE_RATE * seconds / count)
    out = []
    for n in range(count):
        root = roots[n % len(roots)]
        t = np.arange(per) / SAMPLE_RATE
        chord = sum(np.sin(2 * np.pi * root * ratio * t) for ratio in (1, 1.25, 1.5)) / 3
        out.append((0.4 * chord * envelope(per, 800, 800)).astype(np.float32))
    return np.concatenate(out)


def mix(length: int, layers: Iterable[tuple[np.ndarray, int, float, bool]]) -> np.ndarray:
    """Mix (samples, start sample, gain, loop) layers into `length` samples."""
    out = np.zeros(length, dtype=np.float32)
    for samples, start, gain, loop in layers:
        if len(samples) == 0 or start >= length:
            continue
        span = length - start
        if loop and len(samples) < span:
            samples = np.tile(samples, span // len(samples) + 1)
        part = samples[:span]
        out[start : start + len(part)] += gain * part
    peak = float(np.max(np.abs(out))) if length else 0.0
    return out / peak * 0.9 if peak > 0.95 else out


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def encode_mp4(frames: Iterable[bytes], width: int, height: int, fps: int, audio_wav: bytes | None = None) -> bytes:
    """Encode RGB24 frames (and optional WAV audio) to H.264 MP4 bytes, bit-exactly reproducible."""
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory(prefix="movie-assets-") as tmp:
        out_path = os.path.join(tmp, "out.mp4")
        audio_path = None
        if audio_wav is not None:
            audio_path = os.path.join(tmp, "audio.wav")
            with open(audio_path, "wb") as handle:
                handle.write(audio_wav)
        writer = imageio_ffmpeg.write_frames(
            out_path,
            (width, height),
            fps=fps,
            codec="libx264",
            macro_block_size=2,
            ffmpeg_log_level="error",
            output_params=[*BITEXACT, "-threads", "1", "-preset", "veryfast"],
            audio_path=audio_path,
            audio_codec="aac" if audio_path else None,
        )
        writer.send(None)
        for frame in frames:
            writer.send(frame)
        writer.close()
        with open(out_path, "rb") as handle:
            return handle.read()


def decode_mp4(data: bytes) -> tuple[list[bytes], tuple[int, int]]:
    """RGB24 frames and (width, height) of an MP4."""
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory(prefix="movie-assets-") as tmp:
        path = os.path.join(tmp, "in.mp4")
        with open(path, "wb") as handle:
            handle.write(data)
        reader = imageio_ffmpeg.read_frames(path)
        meta = reader.__next__()
        frames = list(reader)
        return frames, tuple(meta["size"])  # type: ignore[return-value]


def shot_seconds(request, default: float) -> float:
    """How long a segment's shot lasts: its narration's length, else the `seconds` input, else `default`."""
    if "narration" in request.inputs:
        return round(audio_seconds(request.load(request.items("narration")[0].blob)), 3)
    if "seconds" in request.inputs and request.value("seconds"):
        return float(request.value("seconds"))
    return default


def allowed_duration(seconds: float, allowed: tuple[int, ...]) -> int:
    """The shortest duration a model allows that covers `seconds` (its longest if none does)."""
    return next((d for d in sorted(allowed) if d >= seconds), max(allowed))
