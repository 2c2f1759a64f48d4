"""S3 driver: create-only = PUT If-None-Match:*, compare-and-swap = PUT If-Match:<etag>, on botocore.

Options (StorageConfig.options): endpoint_url, region, key, secret, part_size (bytes, default 8 MiB),
whole_put_max (bytes, default 32 MiB: a larger object is uploaded in parts), retries (botocore
attempts, default 5), lock_ttl (seconds a dead holder's lease lasts, default 60), lock_url (redis://…
for backends without conditional writes), conditional_writes (true/false; default true: the backend
must honour If-None-Match / If-Match).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from movie_assets.errors import CasConflict, ConditionalWritesUnsupported, InvalidValue, NotFound, StorageError
from movie_assets.store import s3_client
from movie_assets.store.base import Backend, Change, Check, drop_torn_tail
from movie_assets.store.config import is_http_url, whole_option
from movie_assets.store.etags import ABSENT, KnownVersions
from movie_assets.store.s3_client import S3Reader, client_for, error_code, is_precondition_failure, is_unsupported
from movie_assets.store.s3_requests import (
    copy_in_parts,
    delete_keys,
    lease_object,
    list_folders,
    list_objects,
    multipart_if_absent,
    refresh_modified_time,
)

if TYPE_CHECKING:
    from movie_assets.store.config import StorageConfig

log = logging.getLogger(__name__)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


MAX_COPY = 5 * 1024**3  # the most one CopyObject request copies


class S3Backend(Backend):
    """S3 on botocore: conditional PUTs for create-only and compare-and-swap, Redis or lease locks."""

    remote = True

    def share_url(self, path: str, seconds: int) -> str | None:
        """A presigned GET URL, valid for `seconds`."""
        params = {"Bucket": self.bucket, "Key": self._key(path)}
        try:
            return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)
        except Exception:  # no credentials to sign with: the caller falls back to the s3:// name
            return None

    def __init__(self, config: StorageConfig) -> None:
        opts = {k: v for k, v in config.options.items() if v is not None}
        url = config.root[len("s3://") :] if config.root.startswith("s3://") else config.root
        bucket, _, prefix = url.strip("/").partition("/")
        if not _BUCKET.match(bucket):
            raise StorageError(f"invalid S3 bucket name {bucket!r} (3-63 lowercase letters, digits, '.', '-')")
        self.bucket = bucket
        self.root = f"{bucket}/{prefix.strip('/')}" if prefix.strip("/") else bucket
        self.part_size = max(whole_option(opts, "part_size", 8 * 1024 * 1024), 5 * 1024 * 1024)
        # one conditional PUT is one round trip; a multipart upload is three in a row and six requests
        self.whole_put_max = max(whole_option(opts, "whole_put_max", 32 * 1024 * 1024), self.part_size)
        self.conditional = str(opts.get("conditional_writes", "true")).lower() not in ("false", "0", "no")
        self.lock_url = opts.get("lock_url")
        # how long a crashed holder's lease blocks the others: longer than any commit or sweep holds it
        self.lock_ttl = float(max(whole_option(opts, "lock_ttl", 60), 1))
        self.endpoint_url = opts.get("endpoint_url") or None
        if self.endpoint_url is not None and not is_http_url(str(self.endpoint_url)):
            raise InvalidValue(f"storage option endpoint_url: {self.endpoint_url!r} is not an http(s) URL")
        retries = whole_option(opts, "retries", 5)
        key, secret = (str(opts[name]) if opts.get(name) else None for name in ("key", "secret"))
        self.client = client_for(self.endpoint_url, str(opts.get("region", "us-east-1")), key, secret, retries)
        self.known = KnownVersions()  # a read-modify-write of an object seen here skips its GET
        if not self.conditional and not self.lock_url:
            raise ConditionalWritesUnsupported(
                "conditional_writes is off and no lock_url is configured: create-only and compare-and-swap "
                "cannot be made safe"
            )

    @property
    def identity(self) -> tuple:
        """The endpoint with the bucket and prefix: two S3 services may hold the same bucket name."""
        return ("s3", self.endpoint_url, self.root)

    # ---- helpers ----------------------------------------------------------------------------------
    def _key(self, path: str) -> str:
        bucket, _, key = path.partition("/")
        assert bucket == self.bucket, path
        return key

    def call(self, operation: str, **params: Any) -> dict:
        """One S3 request (see s3_client.call)."""
        return s3_client.call(self.client, operation, **params)

    def _get(self, path: str) -> tuple[bytes, str] | None:
        """Body and ETag from one GET (consistent with each other), or None if absent."""
        try:
            response = self.call("get_object", Bucket=self.bucket, Key=self._key(path))
        except FileNotFoundError:
            self.known.absent(path)
            return None
        with contextlib.closing(response["Body"]) as body:
            found = body.read(), response["ETag"]
        self.known.put(path, *found)
        return found

    def _put(self, path: str, data: bytes, **conditions: str) -> None:
        try:
            done = self.call("put_object", Bucket=self.bucket, Key=self._key(path), Body=data, **conditions)
        except BaseException:
            self.known.forget(path)
            raise
        self.known.put(path, data, done.get("ETag"))

    def _last_seen(self, path: str) -> tuple[bytes, str] | None:
        """The version this process last saw, else one GET: where a write is guarded by If-Match."""
        known = self.known.get(path)
        if known is None:
            return self._get(path)
        return None if known is ABSENT else known

    def _unsupported(self, exc: BaseException) -> ConditionalWritesUnsupported:
        return ConditionalWritesUnsupported(
            f"the S3 endpoint refused a conditional write ({error_code(exc)}); set options.lock_url to a Redis "
            "URL to serialise writers instead"
        )

    def translate(self, exc: BaseException, what: str) -> StorageError | None:
        """An S3 refusal (access denied, no such bucket) or no answer at all (an endpoint that is down)."""
        code = error_code(exc)
        if code is not None:
            message = getattr(exc, "response", {}).get("Error", {}).get("Message") or code
            return StorageError(f"{what}: S3 refused the request ({code}: {message})")
        if type(exc).__module__.split(".")[0] in ("botocore", "urllib3"):
            return StorageError(f"{what}: the S3 request failed ({type(exc).__name__}: {exc})")
        return None

    # ---- operations --------------------------------------------------------------------------------
    def read(self, path: str) -> bytes:
        found = self._get(path)
        if found is None:
            raise NotFound(path)
        return found[0]

    def read_from(self, path: str, offset: int) -> bytes:
        wanted = f"bytes={offset}-" if offset >= 0 else f"bytes={offset}"  # negative: the last bytes
        try:
            response = self.call("get_object", Bucket=self.bucket, Key=self._key(path), Range=wanted)
        except FileNotFoundError:
            raise NotFound(path) from None
        except Exception as exc:
            # S3 answers a range starting at or past the end with 416, where a file would give b""
            if error_code(exc) not in ("InvalidRange", "416"):
                raise
            self.stat(path)  # NotFound if it went meanwhile
            return b""
        with contextlib.closing(response["Body"]) as body:
            data = body.read()
        # a tail that is the whole object (a short log) is a version an append can start from
        got = re.fullmatch(r"bytes 0-(\d+)/(\d+)", response.get("ContentRange") or "")
        if got and int(got.group(1)) + 1 == int(got.group(2)) == len(data):
            self.known.put(path, data, response.get("ETag"))
        return data

    def open_read(self, path: str) -> BinaryIO:
        try:
            return S3Reader(self.client, self.bucket, self._key(path))  # type: ignore[return-value]
        except FileNotFoundError:
            raise NotFound(path) from None

    def exists(self, path: str) -> bool:
        try:
            self.call("head_object", Bucket=self.bucket, Key=self._key(path))
            return True
        except FileNotFoundError:
            return False

    def stat(self, path: str) -> tuple[int, float]:
        try:
            info = self.call("head_object", Bucket=self.bucket, Key=self._key(path))
        except FileNotFoundError:
            raise NotFound(path) from None
        return int(info.get("ContentLength") or 0), info["LastModified"].timestamp()

    def modified_time(self, path: str) -> float:
        return self.stat(path)[1]

    def write_atomic(self, path: str, data: bytes) -> None:
        self._put(path, data)  # a single PUT is atomic: readers see the old or the new object

    def copy(self, source: str, path: str, size: int) -> None:
        try:
            if size > MAX_COPY:
                part = max(self.part_size, -(-size // 10_000))  # S3 takes at most 10,000 parts
                copy_in_parts(self.call, self.bucket, self._key(source), self._key(path), size, part)
            else:
                source_key = {"Bucket": self.bucket, "Key": self._key(source)}
                self.call("copy_object", Bucket=self.bucket, Key=self._key(path), CopySource=source_key)
        finally:
            self.known.forget(path)

    def write_if_absent(self, path: str, data: bytes) -> bool:
        if not self.conditional:
            with self.lock(path):
                if self.exists(path):
                    return False
                self._put(path, data)
                return True
        try:
            self._put(path, data, IfNoneMatch="*")
            return True
        except Exception as exc:
            if is_precondition_failure(exc):
                return False
            if is_unsupported(exc):
                raise self._unsupported(exc) from exc
            raise

    def compare_and_swap(self, path: str, check: Check, data: bytes) -> None:
        if not self.conditional:
            with self.lock(path):
                found = self._get(path)
                if not check(found[0] if found else None):
                    raise CasConflict(f"{path} changed since it was read")
                self._put(path, data)
            return
        known = self.known.get(path)
        found = None if known is ABSENT else known
        if known is None or not check(found[0] if found else None):  # what was seen last may be older
            found = self._get(path)
        if not check(found[0] if found else None):
            raise CasConflict(f"{path} changed since it was read")
        self._swap(path, found, data)

    def _swap(self, path: str, found: tuple[bytes, str] | None, data: bytes) -> None:
        """PUT `data` only if the object is still what `found` (body, ETag) was; CasConflict if not."""
        try:
            if found is None:
                self._put(path, data, IfNoneMatch="*")
            else:
                self._put(path, data, IfMatch=found[1])
        except Exception as exc:
            if is_unsupported(exc):
                raise self._unsupported(exc) from exc
            # If-Match on an object another writer deleted answers 404: as lost a race as a 412
            if not (isinstance(exc, FileNotFoundError) or is_precondition_failure(exc)):
                raise
            # A retried PUT whose first attempt landed answers 412 too: then the object holds our bytes.
            now = self._get(path)
            if now is None or now[0] != data:
                raise CasConflict(f"{path} changed since it was read") from None

    def update(self, path: str, change: Change) -> bytes:
        """Read-modify-write with If-Match, retried while other writers win.

        It starts from the last version this process saw (no GET when that is still the object). A
        refused write reads the object to tell a lost race from its own retried PUT; the next attempt
        starts from that read at once, since any wait lets a busy writer move on again. Every fourth
        refusal backs off first, so many writers spread out."""
        delay = 0.005
        for attempt in range(400):
            found = self._last_seen(path) if self.conditional else self._get(path)
            new = change(found[0] if found else None)
            try:
                if self.conditional:
                    self._swap(path, found, new)
                else:
                    self.compare_and_swap(path, lambda now, f=found: now == (f[0] if f else None), new)
                return new
            except CasConflict:
                if attempt % 4 == 3:
                    time.sleep(delay)
                    delay = min(delay * 1.5, 0.2)
                    self.known.forget(path)
        raise StorageError(f"{path}: gave up after 400 contended read-modify-write attempts")

    def append_line(self, path: str, build: Change) -> bytes:
        """S3 has no append: read, add the line, conditional PUT (see update)."""
        written: list[bytes] = []

        def add(stored: bytes | None) -> bytes:
            current = drop_torn_tail(stored or b"", path)
            lines = current.splitlines()
            written.append(build(lines[-1] if lines else None))
            return current + written[-1]

        self.update(path, add)
        return written[-1]

    @contextlib.contextmanager
    def lock(self, path: str, ttl: float | None = None, timeout: float = 120.0) -> Iterator[None]:
        ttl = self.lock_ttl if ttl is None else ttl
        if self.lock_url:
            import redis

            client = redis.Redis.from_url(self.lock_url)
            with client.lock(f"movie_assets:lock:{path}", timeout=ttl, blocking_timeout=timeout):
                yield
            return
        with lease_object(self, f"{path}.lock", ttl, timeout):
            yield

    def stage_open(self, staging_dir: str) -> BinaryIO:
        # bounded memory: spills to a local temp file beyond one part
        return tempfile.SpooledTemporaryFile(max_size=self.part_size, prefix="movie-assets-")  # type: ignore[return-value]

    def stage_publish(self, handle: BinaryIO, path: str) -> bool:
        try:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(0)
            if size <= self.whole_put_max:
                return self.write_if_absent(path, handle.read())
            there = functools.partial(self.exists, path)
            return multipart_if_absent(
                self.call, self.bucket, self._key(path), handle, size, self.part_size, there, self.conditional
            )
        finally:
            handle.close()

    def stage_discard(self, handle: BinaryIO) -> None:
        handle.close()

    def delete(self, path: str) -> None:
        if not self.exists(path):
            raise NotFound(path)
        self.known.forget(path)
        self.call("delete_object", Bucket=self.bucket, Key=self._key(path))

    def delete_unless_newer(self, paths: list[str], cutoff: float) -> list[bool | None]:
        # one HEAD a file for the time check, then one request per thousand deletes instead of two a file
        done: list[bool | None] = []
        for path in paths:
            try:
                done.append(self.modified_time(path) < cutoff)
            except NotFound:
                done.append(None)
        self.discard([path for path, old in zip(paths, done, strict=True) if old])
        return done

    def discard(self, paths: list[str]) -> int:
        delete_keys(self.call, self.bucket, [self._key(path) for path in paths])
        for path in paths:
            self.known.forget(path)
        return len(paths)

    def _listing(self, path: str) -> Iterator[dict]:
        return list_objects(self.call, self.bucket, self._prefix(path))

    def _prefix(self, path: str) -> str:
        """The key prefix of everything below `path` (a folder; the bucket itself is "")."""
        return self._key(f"{path.rstrip('/')}/") if "/" in path.strip("/") else ""

    def find(self, path: str) -> list[str]:
        return [f"{self.bucket}/{item['Key']}" for item in self._listing(path)]

    def scan(self, path: str) -> list[tuple[str, int, float]]:
        return [
            (f"{self.bucket}/{item['Key']}", int(item.get("Size") or 0), item["LastModified"].timestamp())
            for item in self._listing(path)
        ]

    def touch(self, path: str) -> None:
        try:
            refresh_modified_time(self.call, self.bucket, self._key(path))
        except FileNotFoundError:
            raise NotFound(path) from None

    def list_dirs(self, path: str) -> list[str]:
        return list_folders(self.call, self.bucket, self._prefix(path))

    def remove_tree(self, path: str) -> None:
        found = self.find(path)
        if not found:
            raise NotFound(path)
        self.discard(found)
