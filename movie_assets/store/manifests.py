"""Manifests: immutable revision snapshots and the compare-and-swapped `current.json` pointer."""

from __future__ import annotations

import time
from dataclasses import dataclass

from movie_assets.errors import CasConflict, InvalidValue, ManifestConflict, NotFound, PointerMissing, StorageError
from movie_assets.store.cache import BoundedCache
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.models import Manifest, ManifestPointer, RevisionId, empty_manifest
from movie_assets.store.storage import MovieFS

CURRENT = "current.json"


def manifest_path(revision: RevisionId | str) -> str:
    return f"manifests/{RevisionId(revision)}.json"


# Parsed manifests by the sha256 of their bytes. Manifests are immutable and content-addressed, and the
# models are frozen, so a long-lived process (the Dagster sensor, a regenerate that plans then commits)
# parses a 10k-artefact manifest once instead of per call; a few entries bound the memory.
_PARSED: BoundedCache[Manifest] = BoundedCache(4)


def parse_manifest(raw: bytes, digest: str, where: str) -> Manifest:
    """The Manifest stored as `raw` (whose sha256 is `digest`), parsed once per process."""
    manifest = _PARSED.get(digest)
    if manifest is None:
        manifest = Manifest.parse_document(raw, where)
        _PARSED.put(digest, manifest)
    return manifest


@dataclass(frozen=True)
class CurrentManifest:
    manifest: Manifest
    hash: str | None  # None for the rev-0000 baseline of a movie never committed


class ManifestService:
    """Loads and publishes the manifests of one movie."""

    orphan_wait = 0.5

    def __init__(self, fs: MovieFS) -> None:
        self.fs = fs
        self.movie_id = fs.movie_id

    def load_pointer(self) -> ManifestPointer | None:
        try:
            raw = self.fs.read(CURRENT)
        except NotFound:
            return None
        return ManifestPointer.parse_document(raw, f"{self.movie_id}/{CURRENT}")

    def load_current(self) -> CurrentManifest:
        """The live manifest and its hash; an empty rev-0000 baseline when nothing was committed."""
        pointer = self.load_pointer()
        if pointer is None:
            self._check_never_published()
            return CurrentManifest(empty_manifest(self.movie_id), None)
        return CurrentManifest(self.load(pointer.revision, expected_hash=pointer.hash), pointer.hash)

    def _check_never_published(self) -> None:
        """PointerMissing when a stored manifest was built on a published one: then current.json was lost,
        not never written. (A lone first manifest is a first commit killed before its swap.)"""
        revisions = self.history()
        if len(revisions) > 1 or (revisions and self._chained(revisions[-1])):
            raise PointerMissing(
                f"{self.movie_id}: current.json is missing although revisions were published (newest stored: "
                f"{revisions[-1]}); run `movie-assets verify {self.movie_id} --repair` to restore it"
            )

    def _chained(self, revision: RevisionId) -> bool:
        try:
            return self.load(revision).parent_hash is not None
        except (StorageError, ValueError):
            return True  # unreadable: assume the worst, repair decides

    def newest_intact(self) -> tuple[Manifest, str] | None:
        """The newest stored manifest that parses and whose parent chain is intact back to the first
        revision (each parent present and hashing to what its child records), with its hash."""
        checked: dict[RevisionId, str | None] = {}  # revision -> its sha256 if it parses, else None

        def digest_of(revision: RevisionId) -> str | None:
            if revision not in checked:
                try:
                    raw = self.fs.read(manifest_path(revision))
                    Manifest.parse_document(raw, str(revision))
                    checked[revision] = sha256_bytes(raw)
                except (StorageError, ValueError):
                    checked[revision] = None
            return checked[revision]

        for revision in reversed(self.history()):
            if digest_of(revision) is None:
                continue
            manifest = self.load(revision)
            child, intact = manifest, True
            while child.parent is not None and child.parent_hash is not None and child.parent.number > 0:
                if digest_of(child.parent) != child.parent_hash:
                    intact = False
                    break
                child = self.load(child.parent)
            if intact:
                return manifest, checked[revision]  # type: ignore[return-value]
        return None

    def current_hash(self) -> str | None:
        pointer = self.load_pointer()
        return pointer.hash if pointer else None

    def load(self, revision: RevisionId | str, expected_hash: str | None = None) -> Manifest:
        """One stored manifest; its bytes must hash to `expected_hash` when given."""
        if expected_hash is not None:
            # content-addressed: bytes hashing to it were parsed here already, and reading them again (42 MB
            # at 50,001 artefacts, hashed) could only give the same manifest, or tell of a file damaged
            # since, which every new process and `verify` still do
            known = _PARSED.get(expected_hash)
            if known is not None and known.revision == revision:
                return known
        where = f"{self.movie_id}/{manifest_path(revision)}"
        try:
            raw = self.fs.read(manifest_path(revision))
        except NotFound:
            raise NotFound(f"{where} does not exist") from None
        digest = sha256_bytes(raw)
        if expected_hash is not None and digest != expected_hash:
            raise StorageError(f"{where} does not match the hash current.json records ({expected_hash})")
        return parse_manifest(raw, digest, where)

    def save_manifest(self, manifest: Manifest, previous_hash: str | None) -> ManifestPointer:
        """Write the manifest create-only, then swap current.json iff it still points at previous_hash.

        Raises ManifestConflict (live revision untouched) when another commit got there first.
        """
        if manifest.movie_id != self.movie_id:
            raise InvalidValue(f"manifest is for movie {manifest.movie_id!r}, not {self.movie_id!r}")
        data = manifest.canonical()
        digest = sha256_bytes(data)
        rel = manifest_path(manifest.revision)
        while not self.fs.write_if_absent(rel, data):
            existing = self.fs.read(rel)
            if sha256_bytes(existing) == digest:
                break  # a retried commit of the same manifest
            if not self._stays_at(previous_hash, rel):
                raise ManifestConflict(f"{self.movie_id}: {manifest.revision} was already published by another commit")
            # the live revision did not move while a committer had ample time to swap it, so that file was
            # never published: its committer died between writing it and swapping the pointer. Manifests are
            # immutable, so take the next number instead of reusing this one; the gap stays in the history.
            manifest = manifest.replace(revision=manifest.revision.next())
            data = manifest.canonical()
            digest = sha256_bytes(data)
            rel = manifest_path(manifest.revision)
        pointer = ManifestPointer(revision=manifest.revision, manifest=rel, hash=digest)

        def still_at_previous(current: bytes | None) -> bool:
            if current is None:
                return previous_hash is None
            try:
                return ManifestPointer.parse_document(current, CURRENT).hash == previous_hash
            except ValueError:
                return False

        try:
            self.fs.compare_and_swap(CURRENT, still_at_previous, pointer.canonical())
        except CasConflict:
            raise ManifestConflict(
                f"{self.movie_id}: current.json no longer points at {previous_hash}; {manifest.revision} not published"
            ) from None
        return pointer

    def _stays_at(self, previous_hash: str | None, unpublished: str) -> bool:
        """True if current.json still points at previous_hash once the unpublished manifest is
        `orphan_wait` seconds old (a live committer swaps the pointer milliseconds after writing its
        manifest); False as soon as it moves. Skipping too early is safe (the other committer then loses
        its swap), so the wait only keeps revision numbers tidy in ordinary races."""
        try:
            age = time.time() - self.fs.modified_time(unpublished)
        except (NotFound, StorageError):
            age = 0.0
        deadline = time.monotonic() + max(0.0, min(self.orphan_wait - age, self.orphan_wait))
        while True:
            if self.current_hash() != previous_hash:
                return False
            if time.monotonic() >= deadline:
                return True
            time.sleep(0.01)

    def published(self) -> list[RevisionId]:
        """Revisions on the live chain (current, its parent, ...), oldest first; skips unpublished files."""
        pointer = self.load_pointer()
        chain: list[RevisionId] = []
        revision = pointer.revision if pointer else None
        while revision is not None and revision.number > 0:
            chain.append(revision)
            try:
                revision = self.load(revision).parent
            except (NotFound, StorageError, ValueError):
                break
        return chain[::-1]

    def history(self) -> list[RevisionId]:
        """Stored revisions, oldest first."""
        revisions = []
        for rel in self.fs.list("manifests"):
            name = rel.rsplit("/", 1)[-1]
            if name.endswith(".json"):
                try:
                    revisions.append(RevisionId(name[: -len(".json")]))
                except ValueError:
                    continue
        return sorted(revisions, key=lambda r: r.number)
