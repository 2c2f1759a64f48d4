"""The process's S3 clients on plain botocore, what an S3 error says, and a seekable streamed read.

botocore's low-level client is thread-safe and pools its connections, so one client per endpoint and
credentials serves every storage context and every thread of a process: a request fanned out eight
ways waits for eight pooled connections, not for an event loop.
"""

from __future__ import annotations

import errno
import io
import os
import threading
from typing import Any

# botocore's pool keeps at most this many idle connections per client; more threads only open more
POOL_CONNECTIONS = 64
MISSING = ("NoSuchKey", "404", "NotFound")

_LOCK = threading.Lock()
_SESSION: Any = None
_CLIENTS: dict[tuple, Any] = {}


def client_for(endpoint_url: str | None, region: str, key: str | None, secret: str | None, retries: int) -> Any:
    """The process's client for this endpoint and these credentials (made once; a forked child makes its
    own, since pooled sockets must not be shared between processes)."""
    wanted = (os.getpid(), endpoint_url, region, key, secret, retries)
    with _LOCK:  # a botocore session is not safe to make clients from at once
        client = _CLIENTS.get(wanted)
        if client is None:
            client = _CLIENTS[wanted] = _make(endpoint_url, region, key, secret, retries)
        return client


def _make(endpoint_url: str | None, region: str, key: str | None, secret: str | None, retries: int) -> Any:
    global _SESSION
    import botocore.config
    import botocore.session

    if _SESSION is None:
        # one session parses botocore's endpoint rules and S3 model once for every client after the first
        _SESSION = botocore.session.get_session()
    config = botocore.config.Config(
        retries={"max_attempts": retries, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=POOL_CONNECTIONS,
        # blobs are named by their sha256 and checked when read; the newer default checksum headers
        # are refused by several S3-compatible services
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return _SESSION.create_client(
        "s3",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=config,
    )


def call(client: Any, operation: str, **params: Any) -> dict:
    """One S3 request; an absent key is FileNotFoundError, any other refusal botocore's ClientError."""
    try:
        return getattr(client, operation)(**params)
    except Exception as exc:
        if error_code(exc) in MISSING:
            raise FileNotFoundError(errno.ENOENT, "not found", params.get("Key")) from exc
        raise


def error_code(exc: BaseException) -> str | None:
    """The S3 error code behind a failed request (e.g. PreconditionFailed), or None for no S3 answer."""
    for candidate in (exc, exc.__cause__, exc.__context__):
        response = getattr(candidate, "response", None)
        if isinstance(response, dict):
            return response.get("Error", {}).get("Code")
    return None


def is_precondition_failure(exc: BaseException) -> bool:
    return error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict")


def is_unsupported(exc: BaseException) -> bool:
    return error_code(exc) in ("NotImplemented", "501")


class S3Reader(io.RawIOBase):
    """An object read as one streamed GET: no HEAD first, a seek elsewhere starts a ranged GET at the next
    read. The first GET is made on open, so an absent object is FileNotFoundError there."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        self._pos = 0
        self._body: Any = None
        self._open_at(0)

    def _open_at(self, offset: int) -> None:
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": self._key}
        if offset:
            params["Range"] = f"bytes={offset}-"
        try:
            self._body = call(self._client, "get_object", **params)["Body"]
        except Exception as exc:
            if error_code(exc) not in ("InvalidRange", "416"):
                raise
            self._body = io.BytesIO()  # at or past the end: nothing more to read

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence != io.SEEK_SET:
            raise io.UnsupportedOperation("S3Reader seeks from the start only")
        if offset != self._pos:
            self._drop()
            self._pos = offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._body is None:
            self._open_at(self._pos)
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            if self._body is None:
                self._open_at(self._pos)
            data = self._body.read()
            self._pos += len(data)
            return data
        return super().read(size) or b""

    def _drop(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop()
        super().close()
