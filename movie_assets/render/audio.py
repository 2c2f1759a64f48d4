"""Mastered sound: every mix at 48 kHz stereo, music ducked under narration (not alone), loudness
normalised to EBU R128 (-16 LUFS integrated, true peak at most -1 dBTP) and measured."""

from __future__ import annotations

import io
import os
import re
import wave

import numpy as np

from movie_assets.render import loudness as meter
from movie_assets.render.ffmpeg import run
from movie_assets.render.settings import SAMPLE_RATE

TARGET_LUFS, TARGET_TP = -16.0, -1.5
LIMIT = 10 ** (-2.5 / 20)  # the limiter's sample-peak ceiling: a dB under TARGET_TP for inter-sample peaks
MAKEUP_LU = 0.2  # how far under the target a limited mix may land before it is made up and limited again
DUCKED = 0.22  # the music's gain under narration
CROSSFADE = 1.0  # seconds, where a short music bed loops


def decode(data: bytes, workdir: str, name: str) -> np.ndarray:
    """Any audio ffmpeg reads, as float32 stereo at 48 kHz: shape (samples, 2). A 16-bit PCM WAV (what
    the offline producers make) is read here, without starting ffmpeg."""
    pcm = _pcm_wav(data)
    if pcm is not None:
        return pcm
    source = os.path.join(workdir, f"{name}.in")
    with open(source, "wb") as handle:
        handle.write(data)
    done = run(["-i", source, "-f", "f32le", "-ac", "2", "-ar", str(SAMPLE_RATE), "-"], f"decode {name}")
    return np.frombuffer(done.stdout, dtype="<f4").reshape(-1, 2).copy()


def _pcm_wav(data: bytes) -> np.ndarray | None:
    try:
        with wave.open(io.BytesIO(data), "rb") as src:
            if src.getsampwidth() != 2 or src.getnchannels() not in (1, 2):
                return None
            rate, channels = src.getframerate(), src.getnchannels()
            samples = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    except (wave.Error, EOFError):
        return None
    samples = samples.reshape(-1, channels)
    if rate != SAMPLE_RATE and len(samples):  # before a mono voice is doubled: half the resampling
        count = max(int(round(len(samples) * SAMPLE_RATE / rate)), 1)
        at = np.arange(count) * (rate / SAMPLE_RATE)
        samples = np.stack([np.interp(at, np.arange(len(samples)), samples[:, c]) for c in range(channels)], axis=1)
    if channels == 1:
        samples = np.repeat(samples, 2, axis=1)
    return samples.astype(np.float32)


def looped(samples: np.ndarray, length: int) -> np.ndarray:
    """`samples` repeated to `length`, each seam a cross-fade (never a cut mid-note), fading in and out."""
    if length <= 0 or len(samples) == 0:
        return np.zeros((max(length, 0), 2), dtype=np.float32)
    fade = min(int(CROSSFADE * SAMPLE_RATE), len(samples) // 4)
    out = samples.copy()
    while len(out) < length:
        if fade:
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
            seam = out[-fade:] * (1 - ramp) + samples[:fade] * ramp
            out = np.concatenate([out[:-fade], seam, samples[fade:]])
        else:
            out = np.concatenate([out, samples])
    out = out[:length]
    edge = min(SAMPLE_RATE, length // 4)
    if edge:
        out[:edge] *= np.linspace(0.0, 1.0, edge, dtype=np.float32)[:, None]
        out[-edge:] *= np.linspace(1.0, 0.0, edge, dtype=np.float32)[:, None]
    return out


def duck_gain(length: int, spans: list[tuple[int, int]]) -> np.ndarray:
    """The music's gain: DUCKED where narration speaks, 1 elsewhere, glided over half a second: the
    moving average of that stepped gain, so it never steps."""
    gain = np.ones(length, dtype=np.float32)
    for start, end in spans:
        gain[max(start, 0) : min(end, length)] = DUCKED
    ramp = int(0.5 * SAMPLE_RATE)
    if not (ramp and spans and length > ramp):
        return gain[:, None]
    # The average over [n - ramp // 2, n - ramp // 2 + ramp) of a stepped gain (held at its ends) is the
    # stepped gain but within a ramp of each step, where it is a straight line across the step: only
    # those samples are computed.
    lead = ramp - ramp // 2
    steps = np.flatnonzero(gain[1:] != gain[:-1]) + 1
    glided = gain.copy()
    for at in steps:
        jump = float(gain[at] - gain[at - 1])
        low, high = max(at - lead, 0), min(at + ramp // 2, length)
        reached = np.clip(np.arange(low, high) + lead - at, 0, ramp) / ramp  # of the window past the step
        glided[low:high] += (jump * (reached - (np.arange(low, high) >= at))).astype(np.float32)
    return glided[:, None]


def master(mix: np.ndarray, workdir: str, name: str, codec: str = "pcm_s16le") -> tuple[str, dict]:
    """Normalise a mix to -16 LUFS with its true peak at most -1.5 dBTP, at 48 kHz stereo; the file
    (`pcm_s16le` WAV or `aac` M4A) and the measured loudness of what it holds (`integrated_lufs`,
    `true_peak_dbtp`, `lra`).

    The loudness is measured in numpy (render/loudness.py), of the mix and of what is written. ffmpeg
    runs only for what numpy does not do: a look-ahead limiter, where the gain pushes some peak over its
    ceiling (and once more, with the loudness it took made up, where it took more than MAKEUP_LU), and
    the AAC encoder."""
    hops = meter.hop_powers(mix, SAMPLE_RATE)
    level = meter.integrated(hops)
    gain = 10 ** ((TARGET_LUFS - level) / 20) if np.isfinite(level) else 1.0
    out = mix.astype(np.float32) * np.float32(gain)
    # what is written is the mix times the gain (rounded to 16 bits, which moves no figure by a hundredth),
    # so its K-weighted powers are the mix's times the gain squared: only a limiter changes that
    written_hops: np.ndarray | None = hops * gain**2
    raw = os.path.join(workdir, f"{name}.f32")
    source = ["-f", "f32le", "-ac", "2", "-ar", str(SAMPLE_RATE), "-i", raw]
    if len(out) and max(float(out.max()), -float(out.min())) > LIMIT:
        limited = _limited(out, raw, source, name)
        written_hops = meter.hop_powers(limited, SAMPLE_RATE)
        short = TARGET_LUFS - meter.integrated(written_hops)
        if short > MAKEUP_LU:  # the limiter took loudness off the peaks it held: made up once, limited again
            limited = _limited(out * np.float32(10 ** (short / 20)), raw, source, name)
            written_hops = meter.hop_powers(limited, SAMPLE_RATE)
        out = limited
    if codec == "pcm_s16le":
        path = os.path.join(workdir, f"{name}.wav")
        # what ffmpeg's float to 16-bit conversion does: round to nearest, clip
        pcm = np.clip(np.rint(out * 32768.0), -32768, 32767).astype("<i2")
        with wave.open(path, "wb") as dst:
            dst.setnchannels(2)
            dst.setsampwidth(2)
            dst.setframerate(SAMPLE_RATE)
            dst.writeframes(pcm.tobytes())
        return path, meter.measure(pcm.astype(np.float32) / 32768.0, SAMPLE_RATE, written_hops)
    path = os.path.join(workdir, f"{name}.m4a")
    out.astype("<f4").tofile(raw)
    # the fast AAC coder at 192 kb/s: transparent for narration and music, in half the default coder's
    # time on a film's soundtrack
    run([*source, "-c:a", "aac", "-aac_coder", "fast", "-b:a", "192k", path], f"encode {name}")
    return path, meter.measure(out, SAMPLE_RATE, written_hops)


def _limited(samples: np.ndarray, raw: str, source: list[str], name: str) -> np.ndarray:
    """`samples` through ffmpeg's look-ahead limiter, its ceiling LIMIT."""
    samples.astype("<f4").tofile(raw)
    limiter = f"alimiter=limit={LIMIT:.4f}:attack=5:release=50:level=0"
    done = run([*source, "-af", limiter, "-f", "f32le", "-"], f"limit {name}")
    return np.frombuffer(done.stdout, dtype="<f4").reshape(-1, 2)


def loudness(path: str) -> dict:
    """EBU R128 integrated loudness, true peak and loudness range of a file (ffmpeg's ebur128)."""
    return _ebur128(run(["-i", path, "-af", "ebur128=peak=true", "-f", "null", "-"], "measure loudness").stderr)


def _ebur128(stderr: bytes) -> dict:
    text = stderr.decode("utf-8", "replace").split("Summary:")[-1]
    found = {}
    for key, pattern in (
        ("integrated_lufs", r"I:\s+(-?[\d.]+|-inf) LUFS"),
        ("true_peak_dbtp", r"Peak:\s+(-?[\d.]+|-inf) dBFS"),
        ("lra", r"LRA:\s+(-?[\d.]+) LU"),
    ):
        match = re.search(pattern, text)
        if match and match.group(1) != "-inf":
            found[key] = float(match.group(1))
    return found
