"""S3 requests beyond one call: the process's botocore session, what an error code says, a create-only
multipart upload, listings, batch deletes and the lease object that serialises writers of one path."""

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

PARTS_AT_ONCE = 4  # parts of one upload in flight (and in memory) at once
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes


_SESSION: Any = None
_SESSION_LOCK = threading.Lock()


def shared_session() -> Any:
    """One aiobotocore session for the process. Each new session parses botocore's endpoint and S3 model
    files again (a fifth of a second of JSON); with this one, every storage context after the first makes
    its client at once. s3fs makes clients on fsspec's one I/O thread, so they are never made at once."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            import aiobotocore.session

            _SESSION = aiobotocore.session.AioSession()
        return _SESSION


def error_code(exc: BaseException) -> str | None:
    """The S3 error code behind an s3fs-translated exception (e.g. PreconditionFailed)."""
    for candidate in (exc, exc.__cause__, exc.__context__):
        response = getattr(candidate, "response", None)
        if isinstance(response, dict):
            return response.get("Error", {}).get("Code")
    return None


def is_precondition_failure(exc: BaseException) -> bool:
    return error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict")


def is_unsupported(exc: BaseException) -> bool:
    return error_code(exc) in ("NotImplemented", "501")


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
    except OSError as exc:
        _abort(call, bucket, key, upload_id)
        if isinstance(exc, FileExistsError) or is_precondition_failure(exc):
            return False
        raise
    except BaseException:
        _abort(call, bucket, key, upload_id)
        raise


def _abort(call: Callable[..., Any], bucket: str, key: str, upload_id: str) -> None:
    with contextlib.suppress(Exception):
        call("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)


def list_objects(call: Callable[..., Any], bucket: str, prefix: str) -> Iterator[dict]:
    """Every object under `prefix` (folder markers left out), a page of a thousand a request."""
    more: dict[str, str] = {}
    while True:
        page = call("list_objects_v2", Bucket=bucket, Prefix=prefix, **more)
        yield from (item for item in page.get("Contents", ()) if not item["Key"].endswith("/"))
        if not page.get("IsTruncated"):
            return
        more = {"ContinuationToken": page["NextContinuationToken"]}


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
                with contextlib.suppress(FileNotFoundError):
                    backend.fs.call_s3("delete_object", Bucket=backend.bucket, Key=key)
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
            later(lambda: backend.fs.call_s3("delete_object", Bucket=backend.bucket, Key=key))


def refresh_modified_time(call: Callable[..., Any], bucket: str, key: str) -> None:
    """Set an object's LastModified to now: a copy onto itself with its metadata replaced is S3's only way."""
    source = {"Bucket": bucket, "Key": key}
    call("copy_object", Bucket=bucket, Key=key, CopySource=source, MetadataDirective="REPLACE")
