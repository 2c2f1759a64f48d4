"""Generate the small legacy-layout fixture (one folder per revision) used by the migration tests.

python tools/make_legacy_fixture.py movie_assets_tests/fixtures/legacy-film
"""

from __future__ import annotations

import io
import json
import math
import struct
import sys
import wave
from pathlib import Path

from PIL import Image, ImageDraw


def tone(freq: float, seconds: float = 0.25, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(int(seconds * rate))
        )
        out.writeframes(frames)
    return buf.getvalue()


def frame(colour: tuple[int, int, int], label: str) -> bytes:
    image = Image.new("RGB", (32, 18), colour)
    ImageDraw.Draw(image).text((2, 2), label, fill=(255, 255, 255))
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def write_revision(folder: Path, texts: list[str], title: str, absolute_urls: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    inputs = {"Title": title, "NumOfSegments": len(texts)}
    image_clips, audio_clips = [], []
    for i, text in enumerate(texts):
        (folder / f"narration-{i}.wav").write_bytes(tone(220 + 40 * len(text) % 400))
        (folder / f"image-{i}.png").write_bytes(frame((40 * i % 255, 80, 160), str(i)))
        inputs[f"SegmentText[{i}]"] = text
        url = f"file://{(folder / f'image-{i}.png').resolve()}" if absolute_urls else f"./image-{i}.png"
        image_clips.append({"start": i * 2.0, "duration": 2.0, "url": url})
        audio_clips.append({"start": i * 2.0, "duration": 2.0, "url": f"narration-{i}.wav"})
    (folder / "music.wav").write_bytes(tone(110, 0.5))
    timeline = {
        "duration": 2.0 * len(texts),
        "tracks": [
            {"kind": "image", "clips": image_clips},
            {"kind": "audio", "clips": audio_clips},
            {"kind": "music", "clips": [{"start": 0.0, "duration": 2.0 * len(texts), "url": "music.wav"}]},
        ],
    }
    (folder / "timeline.json").write_text(json.dumps(timeline, indent=2) + "\n")
    (folder / "inputs.json").write_text(json.dumps(inputs, indent=2) + "\n")


def main(target: str) -> None:
    root = Path(target)
    write_revision(root / "v1", ["A harbour at dawn.", "Boats leave."], "Harbour")
    write_revision(root / "v2", ["A harbour at dawn.", "Boats leave in the fog."], "Harbour")
    write_revision(root / "v10", ["A harbour at dawn.", "Boats leave in the fog.", "Night falls."], "Harbour")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "movie_assets_tests/fixtures/legacy-film")
