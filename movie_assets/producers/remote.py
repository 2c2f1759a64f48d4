"""Remote outputs into artefacts: stream a provider's output URL with a size cap, check what came back,
and convert it to the type the blueprint declares (PNG, MP4, WAV).

A model that answers with an HTML error page, nothing at all, or something too large is a failed job
with a diagnostic that says so, never an artefact.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import tempfile
import time
import wave
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from movie_assets.errors import ProducerError
from movie_assets.pipeline.prices import shipped_prices
from movie_assets.pipeline.produce import ProduceFn, ProduceRequest, ProduceResult
from movie_assets.producers.providers import (
    ATTEMPTS_SETTING,
    BACKOFF_SETTING,
    MAX_BYTES_SETTING,
    POLL_SETTING,
    TIMEOUT_SETTING,
)

DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB: a long HD clip fits, a runaway answer does not
SPOOL_BYTES = 8 << 20  # outputs up to 8 MiB stay in memory, larger ones spill to a temporary file


class ProviderError(ProducerError):
    """A provider call failed (HTTP error, unreadable or wrong answer); the message says which and why."""


# (name, test on the first bytes), first match wins
_SIGNATURES: list[tuple[str, Callable[[bytes], bool]]] = [
    ("png", lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
    ("jpeg", lambda h: h.startswith(b"\xff\xd8\xff")),
    ("gif", lambda h: h.startswith(b"GIF8")),
    ("webp", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP"),
    ("wav", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE"),
    ("mp4", lambda h: h[4:8] == b"ftyp"),
    ("webm", lambda h: h.startswith(b"\x1a\x45\xdf\xa3")),
    ("mp3", lambda h: h.startswith(b"ID3") or (len(h) > 1 and h[0] == 0xFF and h[1] & 0xE0 == 0xE0)),
    ("flac", lambda h: h.startswith(b"fLaC")),
    ("ogg", lambda h: h.startswith(b"OggS")),
    ("html", lambda h: h.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body"))),
    ("json", lambda h: h.lstrip()[:1] in (b"{", b"[")),
]


def sniff(head: bytes) -> str:
    """What the first bytes of a file are: png, jpeg, gif, webp, wav, mp4, webm, mp3, flac, ogg, html,
    json, or unknown."""
    return next((name for name, test in _SIGNATURES if test(head)), "unknown")


ACCEPTED = {
    "image": {"png", "jpeg", "webp", "gif"},
    "video": {"mp4", "webm"},
    "audio": {"wav", "mp3", "flac", "ogg", "mp4"},
}


def download(http, url: str, max_bytes: int = DEFAULT_MAX_BYTES) -> IO[bytes]:
    """Stream `url` (an httpx.Client) into a spooled temporary file, refusing more than `max_bytes`."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    size = 0
    try:
        with http.stream("GET", url, follow_redirects=True) as response:
            if response.status_code >= 400:
                raise ProviderError(f"output {url}: HTTP {response.status_code}")
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > max_bytes:
                raise ProviderError(f"output {url} is {declared} bytes, over the {max_bytes}-byte cap")
            for chunk in response.iter_bytes(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise ProviderError(f"output {url} is over the {max_bytes}-byte cap; download stopped")
                spool.write(chunk)
    except ProviderError:
        spool.close()
        raise
    except Exception as exc:  # the transport's own errors (timeouts, resets), named
        spool.close()
        raise ProviderError(f"output {url}: {type(exc).__name__}: {exc}") from exc
    spool.seek(0)
    return spool


def as_declared(handle: IO[bytes], mime_type: str, where: str) -> bytes | IO[bytes]:
    """Check a downloaded output against the declared mime type and convert it (PNG, WAV) if needed."""
    head = handle.read(64)
    handle.seek(0)
    kind = sniff(head)
    family = mime_type.split("/", 1)[0]
    if not head:
        raise ProviderError(f"{where}: the model answered with a 0-byte file, not {mime_type}")
    if kind in ("html", "json") or kind not in ACCEPTED.get(family, {kind}):
        preview = head[:60].decode("utf-8", "replace").strip()
        raise ProviderError(f"{where}: expected {mime_type}, got {kind} ({preview!r})")
    if mime_type == "image/png" and kind != "png":
        from PIL import Image

        buffer = io.BytesIO()
        Image.open(handle).convert("RGB").save(buffer, "PNG")
        return buffer.getvalue()
    if mime_type == "audio/wav":
        return to_wav(handle, kind)
    if mime_type == "video/mp4" and kind != "mp4":
        return _ffmpeg(handle, ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4"], ".mp4")
    return handle


def to_wav(handle: IO[bytes], kind: str) -> bytes:
    """Any audio the models return, as the mono 16 kHz WAV every producer here speaks."""
    import movie_assets.producers.media as media

    if kind == "wav":
        data = handle.read()
        try:  # already 16-bit mono: only the rate may differ
            samples, rate = media.read_wav(data)
            return media.wav_bytes(media.resample(samples, rate))
        except (ValueError, EOFError, wave.Error):
            handle = io.BytesIO(data)  # stereo, float or 24-bit: ffmpeg converts it
    data = _ffmpeg(handle, ["-ac", "1", "-ar", str(media.SAMPLE_RATE), "-f", "wav"], ".wav")
    samples, rate = media.read_wav(data)
    return media.wav_bytes(media.resample(samples, rate))


def _ffmpeg(handle: IO[bytes], args: list[str], suffix: str) -> bytes:
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory(prefix="movie-assets-") as tmp:
        source, target = os.path.join(tmp, "in"), os.path.join(tmp, f"out{suffix}")
        with open(source, "wb") as out:
            while chunk := handle.read(1 << 20):
                out.write(chunk)
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", source, *args, target]
        done = subprocess.run(command, capture_output=True, timeout=600)
        if done.returncode != 0:
            raise ProviderError(f"could not convert the output: {done.stderr.decode('utf-8', 'replace')[-300:]}")
        with open(target, "rb") as result:
            return result.read()


def pcm_to_wav(pcm: bytes, rate: int) -> bytes:
    """16-bit LE mono PCM at `rate` -> the WAV format every producer uses (mono, media.SAMPLE_RATE)."""
    import numpy as np

    import movie_assets.producers.media as media

    if len(pcm) % 2:
        pcm = pcm[:-1]
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32767.0
    return media.wav_bytes(media.resample(samples, rate, media.SAMPLE_RATE))


def retry_settings(settings: Mapping[str, str]) -> tuple[int, float]:
    """(attempts, longest backoff in seconds) for the SDKs' own retry machinery: every provider reads
    its retries through here."""
    from movie_assets.errors import InvalidValue

    try:
        attempts = int(settings.get(ATTEMPTS_SETTING) or 4)
        backoff = float(settings.get(BACKOFF_SETTING) or 60.0)
    except ValueError:
        raise InvalidValue(f"{ATTEMPTS_SETTING} must be an integer and {BACKOFF_SETTING} a number of seconds") from None
    if attempts < 1 or backoff < 0:
        raise InvalidValue(f"{ATTEMPTS_SETTING} must be at least 1 and {BACKOFF_SETTING} not negative")
    return attempts, backoff


class Fetcher:
    """How a queued remote job is waited for and its output brought in: the polling cadence, when to
    give up, the output cap, and one HTTP client for every output of a provider."""

    def __init__(self, settings: Mapping[str, str]) -> None:
        import httpx

        self.timeout = float(settings.get(TIMEOUT_SETTING) or 900)
        self.poll = float(settings.get(POLL_SETTING) or 1.0)
        self.cap = int(settings.get(MAX_BYTES_SETTING) or DEFAULT_MAX_BYTES)
        self.http = httpx.Client(timeout=httpx.Timeout(30.0, read=120.0))

    def fetch(self, url: str, mime_type: str, where: str) -> bytes | IO[bytes]:
        """Stream `url` in (capped), check it and convert it to `mime_type`."""
        return as_declared(download(self.http, url, self.cap), mime_type, where)

    def wait(
        self, done: Callable[[], bool], waiting: Callable[[], str], refresh: Callable[[], object] = lambda: None
    ) -> None:
        """Until `done()`: sleep one poll, then `refresh()`. Past the timeout, ProviderError saying what is
        still waiting (`waiting()`)."""
        deadline = time.monotonic() + self.timeout
        while not done():
            if time.monotonic() > deadline:
                raise ProviderError(f"{waiting()} after {self.timeout:g} s")
            time.sleep(self.poll)
            refresh()


@dataclass(frozen=True)
class Finished:
    """A remote job that completed: its output URL, its name in messages, and what to record of it."""

    url: str
    where: str
    diagnostics: dict[str, Any]


def media_producers(
    provider: str,
    defaults: Mapping[str, str],
    inputs: Mapping[str, Callable[[ProduceRequest], dict[str, Any]]],
    run: Callable[[str, dict[str, Any]], Finished],
    fetcher: Fetcher,
) -> dict[str, ProduceFn]:
    """One producer per media kind of a queue-style provider (Replicate, fal): the job's model (else the
    kind's default) runs with the kind's inputs plus the producer's `params.input`; `run` submits and
    waits; the output is fetched as the job declares it and priced from the price table."""

    def producer(kind: str) -> ProduceFn:
        def produce(request: ProduceRequest) -> ProduceResult:
            job = request.job
            model = job.model or defaults[kind]
            finished = run(model, {**inputs[kind](request), **job.params.get("input", {})})
            output = job.outputs[0]
            data = fetcher.fetch(finished.url, output.mime_type, finished.where)
            usd = shipped_prices().price(provider, model, kind)
            diagnostics = {"provider": provider, "model": model, **finished.diagnostics}
            return ProduceResult({output.name: data}, cost=usd or 0.0, diagnostics=diagnostics)

        return produce

    return {kind: producer(kind) for kind in defaults}


@contextlib.contextmanager
def cancelled_on_failure(cancel: Callable[[], object]) -> Iterator[None]:
    """Cancel the remote job when waiting for it ends in an error, a timeout or Ctrl-C: stop paying
    for work nobody will collect. The original error is the one raised."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            cancel()
        raise
