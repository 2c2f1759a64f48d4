"""Content-addressed blob store: `blobs/<2 hex>/<sha256>`, written once, verified on every read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from movie_assets.errors import BlobIntegrityError, BlobNotFound, InvalidId, NotFound
from movie_assets.store.hashing import CHUNK_SIZE, is_sha256, new_sha256, sha256_bytes
from movie_assets.store.models import BlobRef
from movie_assets.store.parallel import each, io_threads
from movie_assets.store.storage import MovieFS

GC_LOCK = "blobs/gc"


def blob_path(blob_hash: str) -> str:
    """Relative path of a blob; rejects anything that is not a sha256 hex digest."""
    if not is_sha256(blob_hash):
        raise InvalidId(f"not a sha256 hex digest: {blob_hash!r}")
    return f"blobs/{blob_hash[:2]}/{blob_hash}"


class BlobStore:
    """Blobs of one movie."""

    def __init__(self, fs: MovieFS) -> None:
        self.fs = fs
        self.movie_id = fs.movie_id
        self.cache = fs.storage.blob_cache  # remote roots: a local copy of blobs read or written here

    def put(
        self, data: bytes | BinaryIO, mime_type: str = "application/octet-stream", marked: frozenset[str] = frozenset()
    ) -> BlobRef:
        """Store bytes or a binary stream (hashed while written, bounded memory); dedups by hash.

        `marked` are hashes of stored blobs every GC sweep keeps anyway (say, a running job's inputs: the
        live manifest, a pin or an event of this run names each): bytes equal to one of them are not
        written again (a script that takes the story's line), and need no freshening."""
        digest = new_sha256()
        size = 0
        staged = self.fs.stage()
        try:
            for chunk in _chunks(data):
                digest.update(chunk)
                size += len(chunk)
                staged.write(chunk)
            ref = BlobRef(hash=digest.hexdigest(), size=size, mime_type=mime_type)
            if ref.hash in marked:
                staged.discard()
                return ref
            created = staged.publish(blob_path(ref.hash))
            if self.cache is not None and isinstance(data, bytes | bytearray):
                self.cache.put(ref.hash, bytes(data))
        except BaseException:
            if staged.published is None:
                staged.discard()
            raise
        if not created and ref.hash not in marked:
            self._freshen(ref.hash, data)
        return ref

    def _freshen(self, blob_hash: str, data: bytes | BinaryIO) -> None:
        """A dedup hit re-references an old blob: refresh its mtime under the GC lock so a sweep that
        started earlier cannot delete it (the sweep re-checks mtimes under the same lock)."""
        rel = blob_path(blob_hash)
        with self.fs.lock(GC_LOCK):
            try:
                self.fs.touch(rel)
                return
            except NotFound:
                pass
        # swept just before we took the lock: store the bytes again (a stream is re-read from its start)
        if not isinstance(data, bytes | bytearray | memoryview):
            data.seek(0)
        self.put(data)

    def present(self) -> set[str]:
        """For membership tests: a sha256 is in it exactly when its blob is stored. One listing of blobs/,
        no per-blob calls; other 64-character names may be in it too, and never equal a sha256 asked for
        unless that very file is there (checking every name's hex cost a sixth of the listing)."""
        return {name for name in self.fs.file_names("blobs") if len(name) == 64}

    def has(self, blob_hash: str) -> bool:
        return self.fs.exists(blob_path(blob_hash))

    def get(self, ref: BlobRef | str) -> bytes:
        """Whole blob, after checking its hash (BlobIntegrityError on mismatch); from the local blob cache
        when it holds a good copy."""
        blob_hash = ref.hash if isinstance(ref, BlobRef) else ref
        if self.cache is not None:
            cached = self.cache.get(blob_hash)
            if cached is not None:
                return cached
        try:
            data = self.fs.read_blob(blob_path(blob_hash))
        except NotFound:
            raise BlobNotFound(f"blob {blob_hash} not found in movie {self.movie_id!r}") from None
        actual = sha256_bytes(data)
        if actual != blob_hash:
            raise BlobIntegrityError(
                f"blob {blob_hash} of movie {self.movie_id!r} is corrupted: its bytes hash to {actual}"
            )
        if self.cache is not None:
            self.cache.put(blob_hash, data)
        return data

    def prefetch(self, refs: Iterable[BlobRef]) -> None:
        """Fill the local blob cache with those of `refs` it lacks, several at once: a job that reads
        twenty inputs one after another then waits for no round trip. Nothing without a cache."""
        if self.cache is None:
            return
        missing = {ref.hash for ref in refs if ref.size <= self.cache.max_bytes // 4 and not self.cache.holds(ref.hash)}
        each(lambda blob_hash: self.get(blob_hash) and None, sorted(missing), io_threads(self.fs))

    def open(self, ref: BlobRef | str) -> Iterator[bytes]:
        """Stream a blob in chunks; the hash is checked at the end (BlobIntegrityError on mismatch)."""
        blob_hash = ref.hash if isinstance(ref, BlobRef) else ref
        try:
            handle = self.fs.open_read(blob_path(blob_hash))
        except NotFound:
            raise BlobNotFound(f"blob {blob_hash} not found in movie {self.movie_id!r}") from None
        return self._verified(handle, blob_hash)

    def _verified(self, handle: BinaryIO, blob_hash: str) -> Iterator[bytes]:
        digest = new_sha256()
        with handle:
            while chunk := handle.read(CHUNK_SIZE):
                digest.update(chunk)
                yield chunk
        if digest.hexdigest() != blob_hash:
            raise BlobIntegrityError(
                f"blob {blob_hash} of movie {self.movie_id!r} is corrupted: its bytes hash to {digest.hexdigest()}"
            )

    def copy_to(self, ref: BlobRef, relative: str) -> None:
        """Write the blob as a plain file of the movie (replaced at once), copied in place where the storage
        can (on S3 its bytes never leave the bucket). Unlike a read it does not check the hash: `verify`
        checks every blob. BlobNotFound if it is gone."""
        try:
            self.fs.copy(blob_path(ref.hash), relative, ref.size)
        except NotFound:
            raise BlobNotFound(f"blob {ref.hash} not found in movie {self.movie_id!r}") from None

    def verify(self, blob_hash: str) -> None:
        """Raise BlobNotFound or BlobIntegrityError unless the blob is present and intact."""
        for _ in self.open(blob_hash):
            pass


def _chunks(data: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), CHUNK_SIZE):
            yield bytes(view[start : start + CHUNK_SIZE])
        return
    while chunk := data.read(CHUNK_SIZE):
        yield chunk
