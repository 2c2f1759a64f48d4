"""S3 requests beyond one call: a create-only multipart upload, a copy in parts, listings, batch deletes
and the lease object that serialises writers of one path. `call(operation, **params)` makes one request."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

from movie_assets.errors import StorageError
from movie_assets.store.parallel import each, later
from movie_assets.store.s3_client import is_precondition_failure

PARTS_AT_ONCE = 4  # parts of one upload in flight (and in memory) at once
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes


def multipart_if_absent(
    call: Callable[..., Any],
    bucket: str,
    key: str,
    handle: BinaryIO,
    size: int,
    part_size: int,
    there: Callable[[], bool],
    conditional: bool,
) -> bool:
    """Upload `size` bytes of `handle` to `key` in parts, a few at once (memory: one part per thread),
    unless the object is there already (`there`, asked while the upload starts, so identical bytes are
    never sent twice); with `conditional`, completing is create-only too. True if this call created it."""
    reading = threading.Lock()

    def send(number: int) -> dict:
        with reading:
            handle.seek((number - 1) * part_size)
            chunk = handle.read(part_size)
        part = call("upload_part", Bucket=bucket, Key=key, PartNumber=number, UploadId=upload_id, Body=chunk)
        return {"PartNumber": number, "ETag": part["ETag"]}

    with ThreadPoolExecutor(max_workers=1) as pool:
        asked = pool.submit(there)
        upload_id = call("create_multipart_upload", Bucket=bucket, Key=key)["UploadId"]
        try:
            found = asked.result()
        except BaseException:
            _abort(call, bucket, key, upload_id)
            raise
    if found:
        _abort(call, bucket, key, upload_id)
        return False
    try:
        parts = each(send, range(1, -(-size // part_size) + 1), PARTS_AT_ONCE)
        conditions = {"IfNoneMatch": "*"} if conditional else {}
        call(
            "complete_multipart_upload",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            **conditions,
        )
        return True
    except BaseException as exc:
        _abort(call, bucket, key, upload_id)
        if is_precondition_failure(exc):
            return False
        raise


def _abort(call: Callable[..., Any], bucket: str, key: str, upload_id: str) -> None:
    with contextlib.suppress(Exception):
        call("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)


def list_objects(call: Callable[..., Any], bucket: str, prefix: str) -> Iterator[dict]:
    """Every object under `prefix` (folder markers left out), a page of a thousand a request."""
    for page in _pages(call, bucket, prefix):
        yield from (item for item in page.get("Contents", ()) if not item["Key"].endswith("/"))


def list_folders(call: Callable[..., Any], bucket: str, prefix: str) -> list[str]:
    """Names of the folders right under `prefix` (S3's common prefixes of the next `/`)."""
    return [
        found["Prefix"][len(prefix) :].rstrip("/")
        for page in _pages(call, bucket, prefix, Delimiter="/")
        for found in page.get("CommonPrefixes", ())
    ]


def _pages(call: Callable[..., Any], bucket: str, prefix: str, **params: str) -> Iterator[dict]:
    more: dict[str, str] = {}
    while True:
        page = call("list_objects_v2", Bucket=bucket, Prefix=prefix, **params, **more)
        yield page
        if not page.get("IsTruncated"):
            return
        more = {"ContinuationToken": page["NextContinuationToken"]}


def copy_in_parts(call: Callable[..., Any], bucket: str, source: str, key: str, size: int, part_size: int) -> None:
    """Copy `source` (`size` bytes) onto `key` inside the bucket as a multipart upload of ranged copies,
    a few at once: for an object beyond what one CopyObject takes. The copy appears whole or not at all."""
    upload_id = call("create_multipart_upload", Bucket=bucket, Key=key)["UploadId"]

    def copy(number: int) -> dict:
        first = (number - 1) * part_size
        span = f"bytes={first}-{min(first + part_size, size) - 1}"
        done = call(
            "upload_part_copy",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            CopySource={"Bucket": bucket, "Key": source},
            CopySourceRange=span,
        )
        return {"PartNumber": number, "ETag": done["CopyPartResult"]["ETag"]}

    try:
        parts = each(copy, range(1, -(-size // part_size) + 1), PARTS_AT_ONCE)
        call("complete_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    except BaseException:
        _abort(call, bucket, key, upload_id)
        raise


def delete_keys(call: Callable[..., Any], bucket: str, keys: list[str]) -> None:
    """Delete the keys, a thousand a request, with no HEAD: S3 answers a delete of a missing key with success."""
    for start in range(0, len(keys), DELETE_BATCH):
        objects = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
        response = call("delete_objects", Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        if response.get("Errors"):
            first = response["Errors"][0]
            raise StorageError(f"s3://{bucket}/{first.get('Key')}: delete failed: {first.get('Message')}")


@contextlib.contextmanager
def lease_object(backend: Any, lease: str, ttl: float, timeout: float) -> Iterator[None]:
    """Hold `lease` on `backend` (an S3Backend): an object created with If-None-Match that names this
    holder and when it expires; an expired one (a crashed holder) is broken. Waits up to `timeout`
    seconds, then StorageError. Holders' clocks are assumed to agree within half the ttl."""
    token = uuid.uuid4().hex
    key = backend._key(lease)
    deadline = time.monotonic() + timeout
    while True:
        body = json.dumps({"token": token, "expires": time.time() + ttl}).encode()
        if backend.write_if_absent(lease, body):
            break
        held = backend._get(lease)
        if held is not None:
            try:
                expired = json.loads(held[0])["expires"] < time.time()
            except (ValueError, KeyError):
                expired = True
            if expired:
                backend.call("delete_object", Bucket=backend.bucket, Key=key)
                continue
        if time.monotonic() > deadline:
            raise StorageError(f"timed out waiting for the lease on {lease.removesuffix('.lock')}")
        time.sleep(0.05)
    taken = time.time()
    try:
        yield
    finally:
        # Another holder breaks a lease only once it has expired by its clock. Released well within its
        # ttl, it is surely still this one's (clocks agree within half a ttl): deleted without a look.
        mine = time.time() - taken < ttl / 2
        if not mine:
            held = backend._get(lease)
            mine = held is not None and json.loads(held[0]).get("token") == token
        if mine:  # within `overlapped`, the DELETE goes out beside the holder's next requests
            later(lambda: backend.call("delete_object", Bucket=backend.bucket, Key=key))


def refresh_modified_time(call: Callable[..., Any], bucket: str, key: str) -> None:
    """Set an object's LastModified to now: a copy onto itself with its metadata replaced is S3's only way."""
    source = {"Bucket": bucket, "Key": key}
    call("copy_object", Bucket=bucket, Key=key, CopySource=source, MetadataDirective="REPLACE")
