"""A loopback server speaking Replicate's HTTP API: model predictions (create, poll, cancel) and the
output files they point at. Knobs make it misbehave the ways real models do."""

from __future__ import annotations

import io
import json
import subprocess
import tempfile
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image

import movie_assets.producers.media as media


def _webp() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 54), (200, 120, 40)).save(buffer, "WEBP")
    return buffer.getvalue()


def _stereo_wav(seconds: float = 1.5, rate: int = 44_100) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(tone, 2).tobytes())
    return buffer.getvalue()


def _mp3(wav: bytes) -> bytes:
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp, "in.wav"), Path(tmp, "out.mp3")
        source.write_bytes(wav)
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(source), str(target)], check=True)
        return target.read_bytes()


def _mp4() -> bytes:
    frames = [bytes([40 * n % 256]) * (64 * 36 * 3) for n in range(24)]
    return media.encode_mp4(frames, 64, 36, 12)


class FakeReplicate:
    """`outcome[model]`: "ok" (default), "html", "empty", "huge", "fail" or "hang";
    `busy_creates`: that many creates answer 429 (Retry-After: 0) first; `create_status[model]`: an
    HTTP status every create of that model answers with."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.predictions: dict[str, dict] = {}
        self.cancelled: list[str] = []
        self.outcome: dict[str, str] = {}
        self.create_status: dict[str, int] = {}
        self.busy_creates = 0
        self._lock = threading.Lock()
        wav = _stereo_wav()
        self.files = {"image": _webp(), "video": _mp4(), "speech": _mp3(wav), "music": wav}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json", headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(
                    {
                        "method": "POST",
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                self._send(*server.post(self.path, body))

            def do_GET(self) -> None:
                server.requests.append(
                    {"method": "GET", "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
                )
                self._send(*server.get(self.path))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()

    def creates(self, model: str | None = None) -> list[dict]:
        return [
            r
            for r in self.requests
            if r["method"] == "POST" and r["path"].endswith("/predictions") and (model is None or model in r["path"])
        ]

    def _prediction(self, pid: str) -> dict:
        p = self.predictions[pid]
        out = {
            "id": pid,
            "model": p["model"],
            "version": "hash",
            "status": p["status"],
            "input": p["input"],
            "output": p.get("output"),
            "logs": "",
            "error": p.get("error"),
            "metrics": {"predict_time": 0.5},
            "created_at": "2026-11-27T00:00:00Z",
            "started_at": None,
            "completed_at": None,
            "urls": {"get": f"{self.url}/v1/predictions/{pid}", "cancel": f"{self.url}/v1/predictions/{pid}/cancel"},
        }
        return out

    def post(self, path: str, body: dict):
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "models"] and parts[-1] == "predictions":
            model = "/".join(parts[2:4])
            with self._lock:
                if self.busy_creates > 0:
                    self.busy_creates -= 1
                    return 429, b'{"detail": "throttled"}', "application/json", {"Retry-After": "0"}
            if model in self.create_status:
                return self.create_status[model], b'{"detail": "the model is broken today"}'
            pid = f"p{len(self.predictions) + 1:04d}"
            self.predictions[pid] = {"model": model, "input": body["input"], "status": "starting", "polls": 0}
            return 201, json.dumps(self._prediction(pid)).encode()
        if parts[:2] == ["v1", "predictions"] and parts[-1] == "cancel":
            pid = parts[2]
            self.predictions[pid]["status"] = "canceled"
            self.cancelled.append(pid)
            return 200, json.dumps(self._prediction(pid)).encode()
        return 404, b'{"detail": "not found"}'

    def get(self, path: str):  # noqa: PLR0911 - one return per endpoint and outcome
        parts = path.strip("/").split("/")
        if path == "/v1/account":
            return 200, json.dumps({"type": "user", "username": "filmmaker", "name": "F", "github_url": None}).encode()
        if parts[:2] == ["v1", "predictions"]:
            pid = parts[2]
            p = self.predictions[pid]
            outcome = self.outcome.get(p["model"], "ok")
            p["polls"] += 1
            if p["status"] in ("starting", "processing"):
                if outcome == "hang":
                    p["status"] = "processing"
                elif outcome == "fail":
                    p.update(status="failed", error="CUDA out of memory")
                elif p["polls"] >= 2:
                    url = f"{self.url}/files/{pid}"
                    p.update(status="succeeded", output=[url] if "seedream" in p["model"] else url)
                else:
                    p["status"] = "processing"
            return 200, json.dumps(self._prediction(pid)).encode()
        if parts[0] == "files":
            p = self.predictions[parts[1]]
            outcome = self.outcome.get(p["model"], "ok")
            if outcome == "html":
                return 200, b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "text/html"
            if outcome == "empty":
                return 200, b"", "video/mp4"
            if outcome == "huge":
                return 200, b"\x00" * (3 << 20), "video/mp4"
            kind = {"seedream": "image", "seedance": "video", "speech": "speech", "audio": "music"}
            name = next(v for k, v in kind.items() if k in p["model"])
            return 200, self.files[name], "application/octet-stream"
        return 404, b"{}"
