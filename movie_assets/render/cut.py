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

import functools
import io
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from movie_assets.render import audio as sound
from movie_assets.render.captions import wrap
from movie_assets.render.ffmpeg import BITEXACT, probe, run
from movie_assets.render.settings import SAMPLE_RATE
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.models import BlobRef, TimelineClip, TimelineDocument

Loader = Callable[[BlobRef], bytes]
MAX_SLOWDOWN = 2.0  # a clip is slowed to half speed at most
PUSH_IN = 0.08  # how far a held or still shot zooms over its length
PUSH_RATE = 0.025  # ...and at least this much per second, so a long shot still moves from frame to frame
CHUNK_FORMAT = 2  # bump when a chunk's rendering changes: every cached chunk is then made again
CHUNK_WORKERS = 2
ENCODE = ["-c:v", "libx264", "-preset", "superfast", "-crf", "20", "-pix_fmt", "yuv420p", "-threads", "2"]


def render_film(document: TimelineDocument, load: Loader, workdir: str, cache: Any = None) -> tuple[bytes, dict]:
    """The MP4 of a timeline and the measured loudness of its sound.

    The picture is cut from chunks: each shot's body and each cross-fade is encoded on its own, named by
    what it is made of (its source blob, slot, size, frame rate, fit, caption), kept in `cache` (a
    DerivedFolder) when given, and joined by stream copy. An edit of one segment re-encodes that
    segment's shot and the two cross-fades beside it; every other chunk is reused."""
    shots = _shot_specs(document)
    video = os.path.join(workdir, "video.mp4")
    # the sound is mixed and mastered (numpy, then ffmpeg) while the picture's chunks encode: on two
    # cores a re-export costs the longer of the two, not their sum
    with ThreadPoolExecutor(max_workers=1) as pool:
        sound_job = pool.submit(mix_sound, document, load, workdir, document.duration, "aac")
        _picture(document, shots, video, load, workdir, cache)
        mixed, loud = sound_job.result()
    film = os.path.join(workdir, "film.mp4")
    mux = ["-i", video, "-i", mixed, "-map", "0:v", "-map", "1:a", "-c", "copy", "-shortest", *BITEXACT]
    run([*mux, "-movflags", "+faststart", film], "mux")
    with open(film, "rb") as handle:
        return handle.read(), loud


def _picture(document: TimelineDocument, shots: list, video: str, load: Loader, workdir: str, cache: Any) -> None:
    if shots:
        fade = _fade(document, shots)
        pieces = _pieces(shots, fade)
        # chunks are independent and short: two at a time keep both cores busy through each ffmpeg's
        # start-up and single-threaded filtering
        with ThreadPoolExecutor(max_workers=CHUNK_WORKERS) as pool:
            names = list(pool.map(lambda piece: _chunk(piece, shots, fade, document, load, workdir, cache), pieces))
        listing = os.path.join(workdir, "chunks.txt")
        with open(listing, "w") as handle:
            handle.writelines(f"file '{os.path.join(workdir, name)}.mp4'\n" for name in names)
        run(["-f", "concat", "-safe", "0", "-i", listing, "-c", "copy", *BITEXACT, video], "join the chunks")
        if cache is not None:
            cache.retain(set(names))
    else:
        black = f"color=c=black:s={document.width}x{document.height}:r={document.fps}:d={max(document.duration, 0.1)}"
        run(["-f", "lavfi", "-i", black, *ENCODE, video], "render")


@dataclass(frozen=True)
class Shot:
    """One shot of the film: what it shows and for how many frames."""

    kind: str  # title | still | video
    blob: BlobRef | None
    frames: int
    caption: str | None
    seed: int

    def key(self, document: TimelineDocument, tail: int) -> str:
        """The shot as rendered with `tail` extra frames: the name of everything it is made of."""
        parts = [CHUNK_FORMAT, self.kind, self.blob.hash if self.blob else document.title, self.frames, tail]
        parts += [document.width, document.height, document.fps, document.fit, self.caption or "", self.seed]
        return sha256_bytes(json.dumps(parts).encode())


def _shot_specs(document: TimelineDocument) -> list[Shot]:
    fps = document.fps
    shots = []
    if document.title and document.title_seconds > 0:
        shots.append(Shot("title", None, max(round(document.title_seconds * fps), 1), None, 1))
    texts = {round(c.start, 3): c.text for t in document.tracks if t.kind == "audio" for c in t.clips if c.text}
    burned = document.captions == "burned"
    for n, clip in enumerate(_shots(document)):
        kind = "video" if clip.blob.mime_type.startswith("video/") else "still"
        caption = texts.get(round(clip.start, 3)) if burned else None
        shots.append(Shot(kind, clip.blob, max(round(clip.duration * fps), 1), caption, n + 2))
    return shots


def _fade(document: TimelineDocument, shots: list[Shot]) -> int:
    """Frames of each cross-fade: the timeline's transition, at most a third of the shortest shot."""
    if len(shots) < 2:
        return 0
    fade = min(round(document.transition * document.fps), min(s.frames for s in shots) // 3)
    return fade if fade >= 2 else 0


def _pieces(shots: list[Shot], fade: int) -> list[tuple]:
    """The film as chunks: each shot's body (its frames outside the cross-fades) and each cross-fade."""
    pieces: list[tuple] = []
    for n, shot in enumerate(shots):
        if n > 0 and fade:
            pieces.append(("fade", n))
        first = fade if n > 0 else 0
        pieces.append(("body", n, first, shot.frames))
    return pieces


def _chunk(
    piece: tuple, shots: list[Shot], fade: int, document: TimelineDocument, load: Loader, workdir: str, cache: Any
) -> str:
    """Encode one chunk (or take it from the cache); its name, the file `<workdir>/<name>.mp4`."""
    if piece[0] == "body":
        _, n, first, last = piece
        shot = shots[n]
        tail = fade if n < len(shots) - 1 else 0
        name = sha256_bytes(f"body {shot.key(document, tail)} {first} {last}".encode())
    else:
        n = piece[1]
        before, after = shots[n - 1], shots[n]
        name = sha256_bytes(f"fade {before.key(document, fade)} {after.key(document, 0)} {fade}".encode())
    path = os.path.join(workdir, f"{name}.mp4")
    if os.path.exists(path):
        return name
    found = cache.get(name) if cache is not None else None
    if found is not None:
        with open(path, "wb") as handle:
            handle.write(found)
        return name
    if piece[0] == "body":
        inputs, chain = _shot_input(shots[n], 0, fade if n < len(shots) - 1 else 0, document, load, workdir)
        graph = f"{chain}[s];[s]trim=start_frame={first}:end_frame={last},setpts=PTS-STARTPTS[o]"
    else:
        inputs, first_chain = _shot_input(before, 0, fade, document, load, workdir)
        more, second_chain = _shot_input(after, _count(inputs), 0, document, load, workdir)
        inputs += more
        graph = (
            f"{first_chain}[a0];[a0]trim=start_frame={before.frames}:end_frame={before.frames + fade},"
            "setpts=PTS-STARTPTS[a];"
            f"{second_chain}[b0];[b0]trim=start_frame=0:end_frame={fade},setpts=PTS-STARTPTS[b];"
            f"[a][b]xfade=transition=fade:duration={fade / document.fps:.6f}:offset=0[o]"
        )
    run([*inputs, "-filter_complex", graph, "-map", "[o]", *_chunk_encoding(document), path], f"encode {piece[0]}")
    if cache is not None:
        with open(path, "rb") as handle:
            cache.put(name, handle.read())
    return name


def _chunk_encoding(document: TimelineDocument) -> list[str]:
    # every chunk with the same parameters and time base, so the concat demuxer joins them by stream copy
    return ["-r", str(document.fps), *ENCODE, "-video_track_timescale", str(document.fps * 1000), *BITEXACT]


def _count(inputs: list[str]) -> int:
    return sum(1 for arg in inputs if arg == "-i")


def _shot_input(
    shot: Shot, index: int, tail: int, document: TimelineDocument, load: Loader, workdir: str
) -> tuple[list[str], str]:
    """ffmpeg inputs and the filter chain (ending unlabelled) that render `shot` with `tail` extra
    frames: fitted, stretched or held moving, captioned when asked."""
    width, height, fps = document.width, document.height, document.fps
    frames = shot.frames + tail
    seconds = frames / fps
    if shot.kind == "title":
        source = _source(workdir, "title.png", lambda: _png(title_card(document.title or "", width, height)))
    else:
        source = _source(workdir, f"src-{shot.blob.hash}", lambda: load(shot.blob))  # type: ignore[union-attr,arg-type]
    if shot.kind == "video":
        inputs = ["-i", source]
        chain = _video_chain(index, source, seconds, document, shot.seed)
    else:
        # decoded and fitted once, then repeated: looping the input instead would decode the picture and
        # scale it again for every frame, most of a still's render
        inputs = ["-framerate", str(fps), "-i", source]
        chain = (
            f"[{index}:v]{_fitted(width, height, 'crop' if shot.kind == 'title' else document.fit)},"
            f"loop=loop={frames + 1}:size=1:start=0,setpts=N/{fps}/TB,{push_in(width, height, seconds, shot.seed)}"
        )
    chain += f",fps={fps},trim=end_frame={frames},setpts=PTS-STARTPTS,format=yuv420p"
    if shot.caption:
        name = f"caption-{sha256_bytes(shot.caption.encode())[:16]}.png"
        card = _source(workdir, name, lambda: _png(caption_image(shot.caption or "", width, height)))
        inputs += ["-i", card]  # one picture: the overlay repeats it to the end of the shot
        chain = f"{chain}[v{index}];[v{index}][{index + 1}:v]overlay=0:0:eof_action=repeat,format=yuv420p"
    return inputs, chain


def _source(workdir: str, name: str, make: Callable[[], bytes]) -> str:
    """`<workdir>/<name>`, written once: chunks encode in parallel and may need the same source, so it is
    written under a private name and renamed into place, never read half-written."""
    path = os.path.join(workdir, name)
    if not os.path.exists(path):
        private = f"{path}.{threading.get_ident()}"
        with open(private, "wb") as handle:
            handle.write(make())
        os.replace(private, path)
    return path


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


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
    rate = max(PUSH_IN / max(seconds, 0.1), PUSH_RATE)
    z = f"(1+{rate:.5f}*t)"
    return (
        f"scale=w='2*trunc({width}*{z}/2)':h='2*trunc({height}*{z}/2)':eval=frame:flags=bilinear,"
        f"crop={width}:{height}:x='(iw-{width})/2+{drift}*(iw-{width})/4*t/{max(seconds, 0.1):.3f}':y='(ih-{height})/2'"
    )


@functools.lru_cache(maxsize=256)
def _duration(path: str) -> float:
    """A source clip's length. Sources are named by their blob's hash, so a name stands for one content:
    a shot's body and both cross-fades beside it ask once."""
    return probe(path).duration


def _video_chain(index: int, path: str, seconds: float, document: TimelineDocument, seed: int) -> str:
    """A clip fitted and stretched to `seconds`: slowed to half speed at most, then held under a push-in."""
    width, height, fps = document.width, document.height, document.fps
    have = _duration(path) or seconds
    stretch = min(max(seconds / have, 1.0), MAX_SLOWDOWN) if have > 0 else 1.0
    steps = [f"[{index}:v]setpts={stretch:.6f}*(PTS-STARTPTS)", _fitted(width, height, document.fit), f"fps={fps}"]
    missing = seconds - have * stretch
    if missing > 1.0 / fps:
        steps.append(f"tpad=stop_mode=clone:stop_duration={missing + 0.2:.3f}")
        steps.append(push_in(width, height, seconds, seed))
    return ",".join(steps)


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
