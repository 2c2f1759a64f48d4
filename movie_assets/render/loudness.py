"""EBU R128 measurement of float stereo samples: integrated loudness and gating (ITU-R BS.1770-4),
loudness range (EBU Tech 3342) and true peak (4× oversampled), in numpy without starting ffmpeg.

Tests hold these figures to ffmpeg's `ebur128` filter on the same samples; ffmpeg stays the judge of
what a film file holds (`audio.loudness`)."""

from __future__ import annotations

import functools
import math

import numpy as np

OVERSAMPLE = 4
TAPS = 32  # per phase of the interpolator: flat within 0.01 dB up to 20 kHz
_IIR_BLOCK = 32  # samples a row of the K-weighting's products filters
_BLOCK = 16  # samples a row of the true-peak product reconstructs: a small block wastes the fewest
# multiplications on the product's zeros


def measure(samples: np.ndarray, rate: int, hops: np.ndarray | None = None) -> dict[str, float]:
    """`integrated_lufs`, `true_peak_dbtp` and `lra` of `samples` (frames × channels, floats in [-1, 1]);
    a figure that is minus infinity (silence) is left out, as ffmpeg's summary leaves it. `hops`: their
    `hop_powers`, when the caller has them already."""
    hops = hop_powers(samples, rate) if hops is None else hops
    found = {"integrated_lufs": integrated(hops), "true_peak_dbtp": _db(true_peak(samples)), "lra": _range(hops)}
    return {key: round(value, 2) for key, value in found.items() if math.isfinite(value)}


def integrated(hops: np.ndarray) -> float:
    """Gated integrated loudness in LUFS of sound with these `hop_powers` (minus infinity for silence or
    under 0.4 s of sound)."""
    return _gated(_windows(hops, 4), -10.0)[1]


def true_peak(samples: np.ndarray) -> float:
    """The largest magnitude of `samples` (frames × channels) reconstructed at four times their rate.

    Phase zero of the interpolator passes every sample through, so the sample peak is one candidate;
    the three points between each pair of samples are the others, computed as one matrix product per
    batch of blocks (a BLAS product beats a convolution per phase many times over)."""
    x = np.asarray(samples, dtype=np.float32).reshape(len(samples), -1)
    if not x.size:
        return 0.0
    reach, count = TAPS // 2, -(-len(x) // _BLOCK)
    padded = np.zeros((x.shape[1], count * _BLOCK + TAPS), dtype=np.float32)
    padded[:, reach : reach + len(x)] = x.T
    # the window that reconstructs sample n starts one after n's padded position
    windows = np.lib.stride_tricks.sliding_window_view(padded, _BLOCK + TAPS - 1, axis=1)[:, 1::_BLOCK]
    windows = windows.reshape(-1, _BLOCK + TAPS - 1)  # (channels × blocks, window): a copy
    product = _toeplitz()
    peak = max(float(x.max()), -float(x.min()))
    for at in range(0, len(windows), 4096):
        points = windows[at : at + 4096] @ product
        peak = max(peak, float(points.max()), -float(points.min()))
    return peak


@functools.cache
def _phases() -> np.ndarray:
    """The interpolator's polyphase filters, (OVERSAMPLE, TAPS), reversed for a dot product with a
    window of samples: a Kaiser-windowed sinc cut at the source's Nyquist frequency, so phase zero
    passes every sample through unchanged and the true peak is never under the sample peak."""
    length = OVERSAMPLE * TAPS
    t = (np.arange(length) - length // 2) / OVERSAMPLE
    kernel = np.sinc(t) * np.kaiser(length, 8.0)
    kernel /= kernel[length // 2]
    phases = np.stack([kernel[p::OVERSAMPLE] for p in range(OVERSAMPLE)])
    return phases[:, ::-1].astype(np.float32).copy()


@functools.cache
def _toeplitz() -> np.ndarray:
    """Phases one to three for a block of _BLOCK samples as one matrix: a window of _BLOCK + TAPS - 1
    samples times it is every in-between point of the block."""
    phases = _phases()
    product = np.zeros((_BLOCK + TAPS - 1, (OVERSAMPLE - 1) * _BLOCK), dtype=np.float32)
    for p in range(1, OVERSAMPLE):
        for i in range(_BLOCK):
            product[i : i + TAPS, (p - 1) * _BLOCK + i] = phases[p]
    return product


def hop_powers(samples: np.ndarray, rate: int) -> np.ndarray:
    """The K-weighted mean power of each whole 100 ms hop, summed over channels: what every loudness
    figure but the peak is made of."""
    x = np.asarray(samples, dtype=np.float32).reshape(len(samples), -1)
    hop = int(round(0.1 * rate))
    weighted = k_weighted(x[: len(x) // hop * hop], rate)
    np.square(weighted, out=weighted)
    return weighted.reshape(x.shape[1], -1, hop).sum(axis=(0, 2), dtype=np.float64) / hop


def k_weighted(samples: np.ndarray, rate: int) -> np.ndarray:
    """`samples` (frames × channels) through BS.1770's K-weighting filter, as (channels × frames).

    The filter is recursive, yet computed without a loop over samples: each block of _IIR_BLOCK samples
    is its zero-state response (one matrix product) plus the response to the state the blocks before
    left, and those states are a linear recurrence over blocks, solved by doubling (a log-depth scan)."""
    x = np.asarray(samples, dtype=np.float32).reshape(len(samples), -1)
    channels, count = x.shape[1], -(-len(x) // _IIR_BLOCK)
    blocks = np.zeros((channels, count * _IIR_BLOCK), dtype=np.float32)
    blocks[:, : len(x)] = x.T
    flat = blocks.reshape(channels * count, _IIR_BLOCK)
    free, to_state, from_state, across = _block_system(rate)
    # the state after each block from zero, then with every earlier block's carried in; in float64, as
    # the high-pass's poles near 1 amplify an error in the state a hundredfold before it fades
    state = (flat.astype(np.float64) @ to_state.T).reshape(channels, count, -1)
    power, reach = across, 1
    while reach < count and np.abs(power).max() > 1e-12:  # what is left is under float32's resolution
        state[:, reach:] += state[:, :-reach] @ power.T
        power, reach = power @ power, reach * 2
    before = np.zeros_like(state)
    before[:, 1:] = state[:, :-1]
    out = flat @ free.T
    out += (before.reshape(channels * count, -1) @ from_state.T).astype(np.float32)
    return out.reshape(channels, -1)[:, : len(x)]


def _windows(hops: np.ndarray, width: int) -> np.ndarray:
    """Mean power of each window of `width` hops, one window a hop."""
    if len(hops) < width:
        return hops[:0]
    sums = np.concatenate([[0.0], np.cumsum(hops)])
    return (sums[width:] - sums[:-width]) / width


def _gated(power: np.ndarray, relative_lu: float) -> tuple[np.ndarray, float]:
    """The windows kept by the absolute gate (-70 LUFS) and the relative one, and their loudness."""
    power = power[_lufs(power) > -70.0]
    if not len(power):
        return power, -math.inf
    kept = power[_lufs(power) > _lufs(power.mean()) + relative_lu]
    return kept, (float(_lufs(kept.mean())) if len(kept) else -math.inf)


def _range(hops: np.ndarray) -> float:
    kept, _ = _gated(_windows(hops, 30), -20.0)
    if len(kept) < 2:
        return 0.0
    low, high = np.percentile(_lufs(kept), [10, 95])
    return float(high - low)


def _lufs(power):
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(power)


def _db(linear: float) -> float:
    return 20 * math.log10(linear) if linear > 0 else -math.inf


@functools.cache
def _k_weighting(rate: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """BS.1770's two stages (a high shelf, then a high-pass) as biquads (b0, b1, b2, a1, a2) at `rate`,
    from the analogue prototypes the standard's 48 kHz coefficients were made from."""
    k = math.tan(math.pi * 1681.974450955533 / rate)
    q, vh = 0.7071752369554196, 10 ** (3.999843853973347 / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = ((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0)
    shelf += (2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    k, q = math.tan(math.pi * 38.13547087602444 / rate), 0.5003270373238773
    a0 = 1 + k / q + k * k
    return shelf, (1.0, -2.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)


def _filter_step(rate: int, state: tuple, sample: float) -> tuple[float, tuple]:
    """One sample through both stages; the state is each stage's last two inputs and the output's."""
    (b0, b1, b2, a1, a2), (c0, c1, c2, d1, d2) = _k_weighting(rate)
    x1, x2, m1, m2, y1, y2 = state
    m = b0 * sample + b1 * x1 + b2 * x2 - a1 * m1 - a2 * m2
    y = c0 * m + c1 * m1 + c2 * m2 - d1 * y1 - d2 * y2
    return y, (sample, x1, m, m1, y, y1)


@functools.cache
def _block_system(rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The filter over one block, found by running it on unit inputs and unit states: a block's output
    from its samples (free) and from the state before it (from_state); the state after it from its
    samples (to_state) and from the state before it (across)."""

    def run(state: tuple, inputs: list[float]) -> tuple[list[float], tuple]:
        out = []
        for sample in inputs:
            y, state = _filter_step(rate, state, sample)
            out.append(y)
        return out, state

    size, width = _IIR_BLOCK, 6
    free, to_state = np.zeros((size, size)), np.zeros((width, size))
    from_state, across = np.zeros((size, width)), np.zeros((width, width))
    for i in range(size):
        out, state = run((0.0,) * width, [float(i == j) for j in range(size)])
        free[:, i], to_state[:, i] = out, state
    for i in range(width):
        out, state = run(tuple(float(i == j) for j in range(width)), [0.0] * size)
        from_state[:, i], across[:, i] = out, state
    return free.astype(np.float32), to_state, from_state, across
