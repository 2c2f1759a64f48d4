"""The final cut: a timeline rendered at the movie's own size and frame rate, with mastered sound.

- Every shot is fitted to the frame without distortion (scaled to cover and cropped, or scaled to fit
  and padded, as the timeline's `fit` says) and never reduced below the frame.
- A shot lasts its slot. A clip shorter than its slot is slowed down (to half speed at most); what is
  still missing is held on its last frame under a slow push-in, so no frame stands still. Stills get
  a slow pan and zoom (Ken Burns).
- Shots are joined by cross-fades of the timeline's `transition` (0: hard cuts); a title card opens
  the film; captions are burned in on request, wrapped to fit, never cut short.
- Sound: narration at its place, music looped with cross-fades to the film's length and ducked under
  narration, the mix normalised to -16 LUFS (render/audio.py), 48 kHz stereo AAC in the MP4.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from movie_assets.render import audio as sound
from movie_assets.render.captions import cues, wrap
from movie_assets.render.ffmpeg import BITEXACT, probe, run
from movie_assets.render.settings import SAMPLE_RATE
from movie_assets.store.models import BlobRef, TimelineClip, TimelineDocument

Loader = Callable[[BlobRef], bytes]
MAX_SLOWDOWN = 2.0  # a clip is slowed to half speed at most
PUSH_IN = 0.08  # how far a held or still shot zooms over its length
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-threads", "2"]


def render_film(document: TimelineDocument, load: Loader, workdir: str) -> tuple[bytes, dict]:
    """The MP4 of a timeline and the measured loudness of its sound."""
    width, height, fps = document.width, document.height, document.fps
    shots = _shots(document)
    inputs: list[str] = []
    chains: list[str] = []
    labels: list[tuple[str, float]] = []
    if document.title and document.title_seconds > 0:
        card = os.path.join(workdir, "title.png")
        title_card(document.title, width, height).save(card)
        inputs += ["-loop", "1", "-framerate", str(fps), "-i", card]
        labels.append(_still(chains, len(labels), document.title_seconds, width, height, fps, seed=1))
    for n, clip in enumerate(shots):
        path = os.path.join(workdir, f"shot{n}")
        with open(path, "wb") as handle:
            handle.write(load(clip.blob))
        slot = clip.duration
        if clip.blob.mime_type.startswith("video/"):
            inputs += ["-i", path]
            labels.append(_video(chains, len(labels), path, slot, document, seed=n + 2))
        else:
            inputs += ["-loop", "1", "-framerate", str(fps), "-i", path]
            labels.append(_still(chains, len(labels), slot, width, height, fps, seed=n + 2, fit=document.fit))
    video = os.path.join(workdir, "video.mp4")
    if labels:
        out = _joined(chains, labels, document.transition)
        out = _captioned(chains, inputs, out, document, workdir)
        graph = ";".join(chains)
        run(
            [*inputs, "-filter_complex", graph, "-map", f"[{out}]", "-r", str(fps), *ENCODE, *BITEXACT, video], "render"
        )
    else:
        run(
            [
                "-f",
                "lavfi",
                "-i",
                f"color=c=black:s={width}x{height}:r={fps}:d={max(document.duration, 0.1)}",
                *ENCODE,
                video,
            ],
            "render",
        )
    length = probe(video).duration or document.duration
    mixed, loud = mix_sound(document, load, workdir, length, "aac")
    film = os.path.join(workdir, "film.mp4")
    run(
        [
            "-i",
            video,
            "-i",
            mixed,
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c",
            "copy",
            "-shortest",
            *BITEXACT,
            "-movflags",
            "+faststart",
            film,
        ],
        "mux",
    )
    with open(film, "rb") as handle:
        return handle.read(), loud


def mix_sound(document: TimelineDocument, load: Loader, workdir: str, length: float, codec: str) -> tuple[str, dict]:
    """The film's mastered sound as a file (`pcm_s16le` WAV or `aac` M4A) and its measured loudness."""
    total = max(int(round(length * SAMPLE_RATE)), 1)
    mix = np.zeros((total, 2), dtype=np.float32)
    spoken: list[tuple[int, int]] = []
    for track in document.tracks:
        if track.kind != "audio":
            continue
        for n, clip in enumerate(track.clips):
            voice = sound.decode(load(clip.blob), workdir, f"voice{n}")
            start = int(round(clip.start * SAMPLE_RATE))
            part = voice[: max(total - start, 0)]
            mix[start : start + len(part)] += part
            spoken.append((start, start + len(part)))
    for track in document.tracks:
        if track.kind != "music":
            continue
        for n, clip in enumerate(track.clips):
            start = int(round(clip.start * SAMPLE_RATE))
            bed = sound.looped(sound.decode(load(clip.blob), workdir, f"music{n}"), total - start)
            gain = sound.duck_gain(total, spoken)[start:] if spoken else 1.0
            mix[start:] += bed * gain
    return sound.master(mix, workdir, "mix", codec)


def _shots(document: TimelineDocument) -> list[TimelineClip]:
    clips = [clip for track in document.tracks if track.kind in ("video", "image") for clip in track.clips]
    return sorted(clips, key=lambda clip: clip.start)


def _fitted(width: int, height: int, fit: str) -> str:
    """Scale a stream to cover (crop) or to fit (pad) the frame, keeping its aspect."""
    if fit == "pad":
        return (
            f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:black,setsar=1"
        )
    return f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1"


def push_in(width: int, height: int, seconds: float, seed: int) -> str:
    """A slow zoom (and drift) over `seconds`: every frame differs from the last, none stands still."""
    drift = 1 if seed % 2 else -1
    z = f"(1+{PUSH_IN}*t/{max(seconds, 0.1):.3f})"
    return (
        f"scale=w='2*trunc({width}*{z}/2)':h='2*trunc({height}*{z}/2)':eval=frame:flags=bicubic,"
        f"crop={width}:{height}:x='(iw-{width})/2+{drift}*(iw-{width})/4*t/{max(seconds, 0.1):.3f}':y='(ih-{height})/2'"
    )


def _still(
    chains: list[str], index: int, seconds: float, width: int, height: int, fps: int, seed: int, fit: str = "crop"
) -> tuple[str, float]:
    label = f"s{index}"
    chains.append(
        f"[{index}:v]{_fitted(width, height, fit)},fps={fps},trim=duration={seconds:.3f},"
        f"{push_in(width, height, seconds, seed)},fps={fps},settb=AVTB,format=yuv420p[{label}]"
    )
    return label, seconds


def _video(
    chains: list[str], index: int, path: str, slot: float, document: TimelineDocument, seed: int
) -> tuple[str, float]:
    """A clip fitted and stretched to its slot: slowed to half speed at most, then held under a push-in."""
    width, height, fps = document.width, document.height, document.fps
    have = probe(path).duration or slot
    stretch = min(max(slot / have, 1.0), MAX_SLOWDOWN) if have > 0 else 1.0
    steps = [f"[{index}:v]setpts={stretch:.6f}*(PTS-STARTPTS)", _fitted(width, height, document.fit), f"fps={fps}"]
    missing = slot - have * stretch
    if missing > 1.0 / fps:
        steps.append(f"tpad=stop_mode=clone:stop_duration={missing + 0.1:.3f}")
        steps.append(push_in(width, height, slot, seed))
    label = f"s{index}"
    ending = f",trim=duration={slot:.3f},setpts=PTS-STARTPTS,fps={fps},settb=AVTB,format=yuv420p[{label}]"
    chains.append(",".join(steps) + ending)
    return label, slot


def _joined(chains: list[str], labels: list[tuple[str, float]], transition: float) -> str:
    """Shots one after another, each cross-fading into the next over `transition` seconds."""
    if len(labels) == 1:
        return labels[0][0]
    shortest = min(seconds for _, seconds in labels)
    fade = min(transition, shortest / 3)
    if fade < 0.04:  # hard cuts
        chains.append("".join(f"[{label}]" for label, _ in labels) + f"concat=n={len(labels)}:v=1:a=0[joined]")
        return "joined"
    # each shot but the last runs `fade` longer, so the film keeps every slot's length
    padded = []
    for n, (label, seconds) in enumerate(labels):
        if n < len(labels) - 1:
            chains.append(f"[{label}]tpad=stop_mode=clone:stop_duration={fade:.3f}[p{n}]")
            padded.append((f"p{n}", seconds))
        else:
            padded.append((label, seconds))
    current, offset = padded[0][0], 0.0
    for n in range(1, len(padded)):
        offset += padded[n - 1][1]
        out = f"x{n}"
        chains.append(
            f"[{current}][{padded[n][0]}]xfade=transition=fade:duration={fade:.3f}:offset={offset:.3f}[{out}]"
        )
        current = out
    return current


def _captioned(chains: list[str], inputs: list[str], label: str, document: TimelineDocument, workdir: str) -> str:
    """Burn each caption in over its time, when the timeline asks for burned captions."""
    if document.captions != "burned":
        return label
    for n, cue in enumerate(cues(document)):
        path = os.path.join(workdir, f"caption{n}.png")
        caption_image(cue.text, document.width, document.height).save(path)
        index = _input_count(inputs)
        inputs += ["-i", path]
        out = f"c{n}"
        chains.append(f"[{label}][{index}:v]overlay=0:0:enable='between(t,{cue.start:.3f},{cue.end:.3f})'[{out}]")
        label = out
    return label


def _input_count(inputs: list[str]) -> int:
    return sum(1 for arg in inputs if arg == "-i")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def caption_image(text: str, width: int, height: int) -> Image.Image:
    """A caption as an RGBA overlay: every word, wrapped to the frame, on a soft band at the bottom."""
    size = max(14, min(width, height) // 20)
    font = _font(size)
    chars = max(16, int(width * 0.86 / (size * 0.52)))
    lines = wrap(text, chars)
    line_h = int(size * 1.3)
    band = len(lines) * line_h + size
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    top = height - band - height // 20
    draw.rounded_rectangle([width * 0.05, top, width * 0.95, top + band], radius=size // 2, fill=(0, 0, 0, 150))
    for n, line in enumerate(lines):
        x = (width - draw.textlength(line, font=font)) / 2
        draw.text((x, top + size // 2 + n * line_h), line, fill=(255, 255, 255, 255), font=font)
    return overlay


def title_card(title: str, width: int, height: int) -> Image.Image:
    """The film's opening card: its title, large and centred, over a dark graded background."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    glow = np.exp(-(x**2) * 1.6 - ((y - 0.45) ** 2) * 6.0)
    base = np.stack([12 + 40 * glow, 14 + 34 * glow, 24 + 52 * glow], axis=-1)
    image = Image.fromarray(np.clip(base, 0, 255).astype("uint8"), "RGB")
    size = max(18, min(width, height) // 9)
    font = _font(size)
    lines = wrap(title, max(10, int(width * 0.8 / (size * 0.55))))
    draw = ImageDraw.Draw(image)
    line_h = int(size * 1.25)
    top = (height - len(lines) * line_h) / 2
    shadow = Image.new("RGBA", image.size, (0, 0, 0, 0))
    sdraw = ImageDraw.Draw(shadow)
    for n, line in enumerate(lines):
        x = (width - draw.textlength(line, font=font)) / 2
        sdraw.text((x + 3, top + n * line_h + 3), line, fill=(0, 0, 0, 200), font=font)
    image = Image.alpha_composite(image.convert("RGBA"), shadow.filter(ImageFilter.GaussianBlur(4))).convert("RGB")
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(lines):
        x = (width - draw.textlength(line, font=font)) / 2
        draw.text((x, top + n * line_h), line, fill=(236, 228, 210), font=font)
    rule = int(width * 0.12)
    draw.line(
        [
            (width / 2 - rule, top + len(lines) * line_h + size // 3),
            (width / 2 + rule, top + len(lines) * line_h + size // 3),
        ],
        fill=(200, 170, 110),
        width=max(2, size // 14),
    )
    return image
