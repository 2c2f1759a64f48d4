"""Serving blobs to a browser: byte ranges (so players can seek), ETag = sha256, immutable caching.

A blob never changes under its name, so a response may be cached forever and revalidated by hash.
Whole blobs stream hash-checked from the store; before a range is served, its blob is verified whole
once and remembered, so a damaged blob never reaches a player in pieces either. A range header we do
not serve (several ranges, another unit) gets the whole blob (200), as RFC 9110 allows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from movie_assets.store.blobs import BlobStore, blob_path
from movie_assets.store.cache import BoundedCache
from movie_assets.store.hashing import CHUNK_SIZE
from movie_assets.store.models import BlobRef

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CACHE = "public, max-age=31536000, immutable"
_VERIFIED: BoundedCache[bool] = BoundedCache(4096)  # (where the store is, blob hash) found intact


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(first, last) inclusive for a single `bytes=` range; None for no range; "invalid" if unsatisfiable."""
    if not header or not header.strip().lower().startswith("bytes=") or "," in header:
        return None  # no range, another unit, or several ranges: the whole blob
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return "invalid"
    first_text, last_text = match.groups()
    if not first_text:  # a suffix: the last N bytes
        length = int(last_text)
        if length == 0:
            return "invalid"
        return max(size - length, 0), size - 1
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or last < first:
        return "invalid"
    return first, last


async def blob_response(request: Request, blobs: BlobStore, ref: BlobRef) -> Response:
    headers = {"ETag": f'"{ref.hash}"', "Cache-Control": CACHE, "Accept-Ranges": "bytes"}
    if _matches(request.headers.get("if-none-match", ""), ref.hash):
        return Response(status_code=304, headers=headers)
    wanted = parse_range(request.headers.get("range"), ref.size)
    if wanted == "invalid":
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{ref.size}"})
    if wanted is None:
        headers["Content-Length"] = str(ref.size)
        return StreamingResponse(blobs.open(ref), media_type=ref.mime_type, headers=headers)
    first, last = wanted  # type: ignore[misc]
    key = (blobs.fs.backend.identity, ref.hash)
    if _VERIFIED.get(key) is None:
        await run_in_threadpool(blobs.verify, ref.hash)  # BlobIntegrityError: a damaged blob, nothing sent
        _VERIFIED.put(key, True)
    headers["Content-Range"] = f"bytes {first}-{last}/{ref.size}"
    headers["Content-Length"] = str(last - first + 1)
    return StreamingResponse(
        _slice(blobs, ref, first, last), status_code=206, media_type=ref.mime_type, headers=headers
    )


def _matches(header: str, blob_hash: str) -> bool:
    """Whether If-None-Match names this blob: `*`, or a list of tags, weak (W/) or strong."""
    tags = [t.strip() for t in header.split(",") if t.strip()]
    return "*" in tags or any(t.removeprefix("W/").strip('"') == blob_hash for t in tags)


def _slice(blobs: BlobStore, ref: BlobRef, first: int, last: int) -> Iterator[bytes]:
    """Bytes first..last of a blob, reading only up to `last` (the hash is checked on whole reads)."""
    with blobs.fs.open_read(blob_path(ref.hash)) as handle:
        handle.seek(first)
        left = last - first + 1
        while left > 0:
            chunk = handle.read(min(CHUNK_SIZE, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
