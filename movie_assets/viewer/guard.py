"""What stands between the viewer and any other web page or local user.

- Host: only loopback names (plus hosts named with `--allow-host`) are answered, so a page on a name
  rebound to 127.0.0.1 (DNS rebinding) gets 421, never a page or its token.
- Origin: a POST whose Origin is not the viewer's own is refused before its body is read.
- Session: each browser gets its own random session cookie; a form's token is an HMAC of it under a
  per-process secret, so neither another page nor another local user can forge one.
- Body: a POST's body is cut off at its route's limit as it arrives, and an upload's token (in the
  form's URL) is checked before a byte of it is read, so nothing large is spooled to disk unasked.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "movie_assets_session"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    """Whether an interface or host name is this machine only."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Sessions:
    """Per-browser sessions and the CSRF token bound to each."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    @staticmethod
    def new() -> str:
        return secrets.token_hex(32)

    def token(self, session: str) -> str:
        return hmac.new(self._secret, f"csrf:{session}".encode(), hashlib.sha256).hexdigest()

    def valid(self, session: str, sent: str) -> bool:
        return bool(session) and hmac.compare_digest(sent, self.token(session))


class Guard:
    """ASGI middleware: the Host, Origin, token-before-upload and body-size rules above."""

    def __init__(
        self,
        app: ASGIApp,
        sessions: Sessions,
        allowed_hosts: Iterable[str] = (),
        form_limit: int = 1 << 20,
        upload_limit: int = 64 << 20,
        upload_paths: tuple[str, ...] = ("/override",),
    ) -> None:
        self.app, self.sessions = app, sessions
        self.hosts = {h.lower() for h in allowed_hosts}
        self.form_limit, self.upload_limit, self.upload_paths = form_limit, upload_limit, upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = _hostname(headers.get("host", ""))
        if not (is_loopback(host) or host in self.hosts):
            await _plain(send, 421, f"this viewer does not answer for host {host!r}")
            return
        if scope["method"] == "POST":
            refusal = self._refusal(scope, headers)
            if refusal is not None:
                await _plain(send, *refusal)
                return
            upload = scope["path"].endswith(self.upload_paths)
            receive = _limited(receive, self.upload_limit if upload else self.form_limit)
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        origin = headers.get("origin")
        if origin is not None and origin != "null":
            parts = urlsplit(origin)
            if (parts.netloc or "").lower() != headers.get("host", "").lower():
                return 403, f"a form from {origin} may not post here"
        elif origin == "null":
            return 403, "a form from an opaque origin may not post here"
        limit = self.upload_limit if scope["path"].endswith(self.upload_paths) else self.form_limit
        if int(headers.get("content-length") or 0) > limit:
            return 413, f"the body is over the {limit // (1 << 20)} MiB limit"
        if scope["path"].endswith(self.upload_paths):  # checked before the body is read at all
            sent = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("csrf", [""])[0]
            if not self.sessions.valid(_cookie(headers.get("cookie", ""), SESSION_COOKIE), sent):
                return 403, "the upload's CSRF token is missing or stale: reload the page"
        return None


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return wrapped


class BodyTooLarge(Exception):
    """A chunked body grew past its route's limit: the request is cut off there."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is over the {limit // (1 << 20)} MiB limit")


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
