"""The music's ducking gain against its definition: a half-second moving average of a stepped gain."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from movie_assets.render.audio import DUCKED, duck_gain
from movie_assets.render.settings import SAMPLE_RATE

RAMP = SAMPLE_RATE // 2


def _defined(length: int, spans: list[tuple[int, int]]) -> np.ndarray:
    stepped = np.ones(length)
    for start, end in spans:
        stepped[max(start, 0) : min(end, length)] = DUCKED
    held = np.pad(stepped, (RAMP // 2, RAMP - RAMP // 2), mode="edge")  # the gain held at both ends
    sums = np.concatenate([[0.0], np.cumsum(held)])
    return (sums[RAMP:] - sums[:-RAMP])[:length] / RAMP  # the mean of each window of RAMP samples


@settings(max_examples=40, deadline=None)
@given(
    length=st.integers(RAMP + 1, 4 * RAMP),
    spans=st.lists(st.tuples(st.integers(-RAMP, 4 * RAMP), st.integers(1, 2 * RAMP)), min_size=1, max_size=6),
)
def test_the_ducking_gain_is_the_moving_average_of_the_stepped_gain(length, spans):
    spans = [(start, start + size) for start, size in spans]  # overlapping, touching, past either end
    glided = duck_gain(length, spans)
    assert glided.shape == (length, 1)
    assert np.abs(glided[:, 0] - _defined(length, spans)).max() < 1e-5


def test_the_music_glides_down_under_narration_and_back_up():
    gain = duck_gain(4 * SAMPLE_RATE, [(SAMPLE_RATE, 3 * SAMPLE_RATE)])[:, 0]
    assert gain[0] == 1 and gain[2 * SAMPLE_RATE] == np.float32(DUCKED) and gain[-1] == 1
    steps = np.abs(np.diff(gain))
    assert steps.max() < 2 / RAMP, "never a step, only a glide"
    assert (np.diff(gain[: 2 * SAMPLE_RATE]) <= 1e-7).all(), "down, never back up, on the way in"
