"""The numpy loudness meter against ffmpeg's ebur128 filter, and mastering judged by ffmpeg."""

from __future__ import annotations

import numpy as np
import pytest

from movie_assets.render import audio, loudness
from movie_assets.render.settings import SAMPLE_RATE

RATE = SAMPLE_RATE


def _seconds(n: float) -> np.ndarray:
    return np.arange(int(n * RATE)) / RATE


def _stereo(mono: np.ndarray) -> np.ndarray:
    return np.stack([mono, mono], axis=1).astype(np.float32)


def _tone() -> np.ndarray:
    return _stereo(0.1 * np.sin(2 * np.pi * 997 * _seconds(12)))


def _gated_noise() -> np.ndarray:
    noise = np.random.default_rng(1).standard_normal((30 * RATE, 2)).astype(np.float32) * 0.05
    noise[10 * RATE : 20 * RATE] *= 0.01  # a quiet stretch the relative gate leaves out
    return noise


def _steps() -> np.ndarray:
    # EBU Tech 3342's first case: 20 s at -20 dBFS, then 20 s at -30 dBFS, a loudness range of 10 LU
    t = _seconds(40)
    return _stereo(np.where(t < 20, 0.1, 0.0316) * np.sin(2 * np.pi * 1000 * t))


def _chords() -> np.ndarray:
    t = _seconds(20)
    notes = sum(np.sin(2 * np.pi * f * t) * np.exp(-((t * 1.5) % 2)) for f in (220, 277, 330, 660, 1320))
    left = 0.15 * notes + 0.02 * np.random.default_rng(2).standard_normal(len(t))
    return np.stack([left, 0.8 * np.roll(left, 480)], axis=1).astype(np.float32)


def _ffmpeg(samples: np.ndarray, tmp_path) -> dict:
    from movie_assets.render.audio import _ebur128
    from movie_assets.render.ffmpeg import run

    raw = tmp_path / "signal.f32"
    samples.astype("<f4").tofile(raw)
    source = ["-f", "f32le", "-ac", "2", "-ar", str(RATE), "-i", str(raw)]
    return _ebur128(run([*source, "-af", "ebur128=peak=true", "-f", "null", "-"], "measure").stderr)


@pytest.mark.parametrize("make", [_tone, _gated_noise, _steps, _chords], ids=lambda f: f.__name__.strip("_"))
def test_the_meter_agrees_with_ffmpegs_ebur128(make, tmp_path):
    samples = make()
    ours, theirs = loudness.measure(samples, RATE), _ffmpeg(samples, tmp_path)
    assert set(ours) == set(theirs)
    assert ours["integrated_lufs"] == pytest.approx(theirs["integrated_lufs"], abs=0.15), (ours, theirs)
    assert ours["true_peak_dbtp"] == pytest.approx(theirs["true_peak_dbtp"], abs=0.2), (ours, theirs)
    # ffmpeg starts short-term windows before 3 s of sound and reads percentiles off a histogram
    assert ours["lra"] == pytest.approx(theirs["lra"], abs=0.6), (ours, theirs)


def test_known_figures_come_out_of_the_meter():
    assert loudness.measure(_tone(), RATE)["integrated_lufs"] == pytest.approx(-20.0, abs=0.05)
    assert loudness.measure(_steps(), RATE)["lra"] == pytest.approx(10.0, abs=0.3)
    assert loudness.measure(np.zeros((RATE, 2), np.float32), RATE) == {"lra": 0.0}, "silence has no loudness"
    assert loudness.integrated(loudness.hop_powers(np.ones((RATE // 10, 2), np.float32), RATE)) == -np.inf, (
        "under one block"
    )


def test_the_k_weighting_is_the_standards_filter_run_sample_by_sample():
    # ITU-R BS.1770-4's published coefficients at 48 kHz (b0, b1, b2, a1, a2 of each stage)
    shelf = (1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585)
    high_pass = (1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621)
    for ours, published in zip(loudness._k_weighting(48000), (shelf, high_pass), strict=True):
        assert ours == pytest.approx(published, abs=1e-9)
    samples = np.random.default_rng(3).uniform(-1, 1, (1001, 2)).astype(np.float32)
    expected = samples.T.astype(np.float64)
    for b0, b1, b2, a1, a2 in (shelf, high_pass):  # direct form I, one sample at a time
        out = np.zeros_like(expected)
        for n in range(expected.shape[1]):
            x1, x2 = (expected[:, n - k] if n >= k else 0.0 for k in (1, 2))
            y1, y2 = (out[:, n - k] if n >= k else 0.0 for k in (1, 2))
            out[:, n] = b0 * expected[:, n] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        expected = out
    assert np.abs(loudness.k_weighted(samples, 48000) - expected).max() < 1e-5


def test_the_true_peak_is_found_between_samples():
    # a quarter of the sample rate, sampled 45 degrees off its crests: every sample is 3 dB under the peak
    wave = _stereo(0.5 * np.sin(2 * np.pi * (RATE / 4) * _seconds(2) + np.pi / 4))
    assert 20 * np.log10(np.abs(wave).max()) == pytest.approx(-9.03, abs=0.01)
    assert 20 * np.log10(loudness.true_peak(wave)) == pytest.approx(-6.02, abs=0.15)


@pytest.mark.parametrize("length", [1, 2, 15, 16, 17, 100, 1000, 4097 * 16 + 3])
def test_the_true_peak_is_the_interpolators_whole_output(length):
    """Against the plain definition: zero-stuff to four times the rate and convolve with the kernel."""
    rng = np.random.default_rng(length)
    samples = rng.uniform(-1, 1, (length, 2)).astype(np.float32)
    samples[rng.integers(length)] *= 0  # a dip, so no test passes on the first sample alone
    phases = loudness._phases()[:, ::-1]  # back to the kernel's order
    kernel = np.stack(list(phases), axis=1).ravel().astype(np.float64)
    best = 0.0
    for channel in samples.T:
        stuffed = np.zeros(len(channel) * loudness.OVERSAMPLE)
        stuffed[:: loudness.OVERSAMPLE] = channel
        best = max(best, float(np.abs(np.convolve(stuffed, kernel)).max()))
    assert loudness.true_peak(samples) == pytest.approx(best, rel=1e-5)
    assert loudness.true_peak(samples) >= float(np.abs(samples).max()), "never under the sample peak"


def _smooth_mix() -> np.ndarray:
    return _chords() * 0.3


def _peaky_mix() -> np.ndarray:
    mix = _smooth_mix()
    for start in range(RATE, len(mix), 2 * RATE):  # drum hits the gain to -16 LUFS pushes over the ceiling
        mix[start : start + RATE // 200] += 0.4
    return mix


@pytest.mark.parametrize("make, limited", [(_smooth_mix, False), (_peaky_mix, True)], ids=["smooth", "peaky"])
@pytest.mark.parametrize("codec", ["pcm_s16le", "aac"])
def test_mastering_lands_on_target_and_reports_what_ffmpeg_measures_in_the_file(
    make, limited, codec, tmp_path, monkeypatch
):
    calls: list[str] = []
    real = audio.run
    monkeypatch.setattr(audio, "run", lambda args, what, stdin=None: calls.append(what) or real(args, what, stdin))
    path, reported = audio.master(make(), str(tmp_path), "mix", codec)
    assert ("limit mix" in calls) is limited, calls
    measured = audio.loudness(path)
    # what the limiter takes off the peaks it holds down is made up
    assert measured["integrated_lufs"] == pytest.approx(-16, abs=0.3), measured
    assert measured["true_peak_dbtp"] <= -1.0, measured
    close = 0.15 if codec == "pcm_s16le" else 0.3
    assert reported["integrated_lufs"] == pytest.approx(measured["integrated_lufs"], abs=close), (reported, measured)
    if codec == "pcm_s16le":  # an AAC file is measured after its encoder, which moves peaks
        assert reported["true_peak_dbtp"] == pytest.approx(measured["true_peak_dbtp"], abs=0.2), (reported, measured)
