"""A loopback HTTP proxy in front of moto that injects transient failures (retry tests), adds a delay to
every request (a network round trip) and counts requests by method (request-count benchmarks)."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from .servers import free_port


@dataclass
class Fault:
    method: str
    contains: str
    mode: str  # "before": answer without forwarding; "after": forward, then answer with `status`
    status: int = 503
    times: int = 1
    header: str | None = None  # only requests carrying this header


class FlakyProxy:
    def __init__(self, upstream: str) -> None:  # noqa: C901 - the handler class closes over the proxy
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.faults: list[Fault] = []
        self.injected: list[str] = []
        self.delay = 0.0  # seconds added to every request, standing for the round trip to a region
        self.seen: list[tuple[str, str]] = []  # (method, path) of every request, in arrival order
        self.in_flight = 0
        self.most_in_flight = 0  # the most requests it was answering at once
        self.arrivals: list[float] = []  # when each request arrived, monotonic seconds
        self._lock = threading.Lock()
        self.port = free_port()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: with Nagle on, the body waits for the client's
            # delayed ACK, 40 ms a response that no real S3 endpoint adds
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    raw = b""
                    while True:
                        size_line = self.rfile.readline()
                        raw += size_line
                        size = int(size_line.split(b";")[0].strip(), 16)
                        if size == 0:
                            while True:
                                trailer = self.rfile.readline()
                                raw += trailer
                                if trailer in (b"\r\n", b"\n", b""):
                                    return raw
                        raw += self.rfile.read(size + 2)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self) -> None:
                body = self._body()
                with proxy._lock:
                    proxy.seen.append((self.command, self.path))
                    proxy.in_flight += 1
                    proxy.most_in_flight = max(proxy.most_in_flight, proxy.in_flight)
                    proxy.arrivals.append(time.monotonic())
                try:
                    self._forward(body)
                finally:
                    with proxy._lock:
                        proxy.in_flight -= 1

            def _forward(self, body: bytes) -> None:
                if proxy.delay:
                    time.sleep(proxy.delay)
                fault = proxy._match(self.command, self.path, self.headers)
                if fault is not None and fault.mode == "before":
                    return self._reply_error(fault.status)
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                conn.request(self.command, self.path, body=body, headers=headers, encode_chunked=False)
                response = conn.getresponse()
                payload = response.read()
                if fault is not None and fault.mode == "after":
                    conn.close()
                    return self._reply_error(fault.status)
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                # a HEAD's length is the object's, as upstream said; a body's is what is sent
                length = response.getheader("Content-Length", "0") if self.command == "HEAD" else len(payload)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                conn.close()

            def _reply_error(self, status: int) -> None:
                code = {503: "SlowDown", 500: "InternalError", 501: "NotImplemented"}.get(status, "Error")
                payload = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def rounds(self) -> float:
        """The round trips the client waited for in a row, in delays: the time some request of those that
        arrived was in its delay, over the delay. Requests sent together count once; siblings sent a
        little apart add that little, and the upstream's own time adds nothing."""
        waited, reached = 0.0, float("-inf")
        for arrived in sorted(self.arrivals):
            waited += max(0.0, arrived + self.delay - max(arrived, reached))
            reached = max(reached, arrived + self.delay)
        return waited / self.delay

    def _match(self, method: str, path: str, headers) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if (
                    fault.times > 0
                    and fault.method == method
                    and fault.contains in path
                    and (fault.header is None or fault.header in headers)
                ):
                    fault.times -= 1
                    self.injected.append(f"{fault.mode} {fault.status} {method} {path}")
                    return fault
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
