"""Manifests: immutable revision snapshots and the compare-and-swapped `current.json` pointer."""

from __future__ import annotations

from dataclasses import dataclass

from movie_assets.core.hashing import sha256_bytes
from movie_assets.core.models import Manifest, ManifestPointer, RevisionId, empty_manifest
from movie_assets.core.storage import CasConflict, NotFound, StorageContext, StorageError

CURRENT = "current.json"


class ManifestConflict(StorageError):
    """The live revision moved since the caller read it; nothing was published."""


def manifest_path(revision: RevisionId | str) -> str:
    return f"manifests/{RevisionId(revision)}.json"


@dataclass(frozen=True)
class CurrentManifest:
    manifest: Manifest
    hash: str | None  # None for the rev-0000 baseline of a movie never committed


class ManifestService:
    """Loads and publishes the manifests of one movie."""

    def __init__(self, storage: StorageContext, movie_id: str) -> None:
        self.storage = storage
        self.movie_id = movie_id

    def load_pointer(self) -> ManifestPointer | None:
        try:
            raw = self.storage.read(self.movie_id, CURRENT)
        except NotFound:
            return None
        return ManifestPointer.parse_document(raw, f"{self.movie_id}/{CURRENT}")

    def load_current(self) -> CurrentManifest:
        """The live manifest and its hash; an empty rev-0000 baseline when nothing was committed."""
        pointer = self.load_pointer()
        if pointer is None:
            return CurrentManifest(empty_manifest(self.movie_id), None)
        return CurrentManifest(self.load(pointer.revision, expected_hash=pointer.hash), pointer.hash)

    def current_hash(self) -> str | None:
        pointer = self.load_pointer()
        return pointer.hash if pointer else None

    def load(self, revision: RevisionId | str, expected_hash: str | None = None) -> Manifest:
        """One stored manifest; its bytes must hash to `expected_hash` when given."""
        where = f"{self.movie_id}/{manifest_path(revision)}"
        try:
            raw = self.storage.read(self.movie_id, manifest_path(revision))
        except NotFound:
            raise NotFound(f"{where} does not exist") from None
        if expected_hash is not None and sha256_bytes(raw) != expected_hash:
            raise StorageError(f"{where} does not match the hash current.json records ({expected_hash})")
        return Manifest.parse_document(raw, where)

    def save_manifest(self, manifest: Manifest, previous_hash: str | None) -> ManifestPointer:
        """Write the manifest create-only, then swap current.json iff it still points at previous_hash.

        Raises ManifestConflict (live revision untouched) when another commit got there first.
        """
        if manifest.movie_id != self.movie_id:
            raise ValueError(f"manifest is for movie {manifest.movie_id!r}, not {self.movie_id!r}")
        data = manifest.canonical()
        digest = sha256_bytes(data)
        rel = manifest_path(manifest.revision)
        if not self.storage.write_if_absent(self.movie_id, rel, data):
            existing = self.storage.read(self.movie_id, rel)
            if sha256_bytes(existing) != digest:
                raise ManifestConflict(f"{self.movie_id}: {manifest.revision} was already written by another commit")
        pointer = ManifestPointer(revision=manifest.revision, manifest=rel, hash=digest)

        def still_at_previous(current: bytes | None) -> bool:
            if current is None:
                return previous_hash is None
            try:
                return ManifestPointer.model_validate_json(current).hash == previous_hash
            except ValueError:
                return False

        try:
            self.storage.compare_and_swap(self.movie_id, CURRENT, still_at_previous, pointer.canonical())
        except CasConflict:
            raise ManifestConflict(
                f"{self.movie_id}: current.json no longer points at {previous_hash}; {manifest.revision} not published"
            ) from None
        return pointer

    def history(self) -> list[RevisionId]:
        """Stored revisions, oldest first."""
        revisions = []
        for rel in self.storage.list(self.movie_id, "manifests"):
            name = rel.rsplit("/", 1)[-1]
            if name.endswith(".json"):
                try:
                    revisions.append(RevisionId(name[: -len(".json")]))
                except ValueError:
                    continue
        return sorted(revisions, key=lambda r: r.number)
