"""A loopback HTTPS server speaking fal's queue API: submit, status, result, cancel, and the files a
result points at. fal's client builds `https://` queue URLs from a host name, so the server speaks
TLS with a throwaway certificate authority (trustme) that the client is told to trust."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

import movie_assets.producers.media as media


class FakeFal:
    """`outcome[app]`: "ok" (default), "html" or "hang"."""

    def __init__(self, folder: Path) -> None:
        authority = trustme.CA()
        self.ca_file = folder / "fal-ca.pem"
        authority.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.requests: list[dict] = []
        self.jobs: dict[str, dict] = {}
        self.cancelled: list[str] = []
        self.outcome: dict[str, str] = {}
        self.refused_keys: set[str] = set()
        frames = [bytes([30 * n % 256, 90, 160]) * (96 * 54) for n in range(24)]
        self.video = media.encode_mp4(frames, 96, 54, 12)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _record(self, method: str) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append({"method": method, "path": self.path, "headers": headers, "body": body})
                return body

            def do_POST(self) -> None:
                self._send(*server.submit(self.path.strip("/"), self._record("POST")))

            def do_GET(self) -> None:
                self._record("GET")
                if self.headers.get("Authorization", "").removeprefix("Key ") in server.refused_keys:
                    self._send(401, b'{"detail": "Invalid key"}')
                    return
                self._send(*server.get(self.path.split("?", 1)[0].strip("/")))

            def do_PUT(self) -> None:
                self._record("PUT")
                rid = self.path.strip("/").split("/")[-2]
                server.cancelled.append(rid)
                self._send(202, b'{"status": "CANCELLATION_REQUESTED"}')

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"https://{self.host}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()

    def submit(self, app: str, body: dict):
        rid = f"r{len(self.jobs) + 1:03d}"
        self.jobs[rid] = {"app": app, "input": body, "polls": 0}
        base = f"{self.url}/{app}/requests/{rid}"
        answer = {
            "request_id": rid,
            "status_url": f"{base}/status",
            "response_url": base,
            "cancel_url": f"{base}/cancel",
        }
        return 200, json.dumps(answer).encode()

    def get(self, path: str):
        parts = path.split("/")
        if parts[0] == "files":
            job = self.jobs[parts[1]]
            if self.outcome.get(job["app"]) == "html":
                return 200, b"<!DOCTYPE html><html><body>Internal error</body></html>", "text/html"
            return 200, self.video, "video/mp4"
        rid = parts[-2] if parts[-1] == "status" else parts[-1]
        if rid not in self.jobs:
            return 404, json.dumps({"detail": f"Request {rid} not found"}).encode()
        job = self.jobs[rid]
        if parts[-1] == "status":
            job["polls"] += 1
            done = job["polls"] >= 2 and self.outcome.get(job["app"]) != "hang"
            status = (
                {"status": "COMPLETED", "logs": [], "metrics": {"inference_time": 1.5}}
                if done
                else {"status": "IN_PROGRESS", "logs": []}
            )
            return 200, json.dumps(status).encode()
        return 200, json.dumps({"video": {"url": f"{self.url}/files/{rid}", "content_type": "video/mp4"}}).encode()
