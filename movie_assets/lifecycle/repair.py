"""`verify --repair`: set aside what is damaged so regeneration can remake it.

- malformed event-log lines move to `events/quarantine/` (every good line stays);
- a referenced blob whose bytes no longer match its hash moves to `quarantine/blobs/`;
then planning sees the live revision's missing outputs as dirty and a regenerate remakes them. Blobs
of older revisions cannot be remade (their inputs are gone) and are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from movie_assets.errors import BlobIntegrityError, InvalidDocument, NotFound, PointerMissing, StorageError
from movie_assets.store.blobs import BlobStore, blob_path
from movie_assets.store.events import EventLog
from movie_assets.store.manifests import CURRENT, ManifestService, manifest_path
from movie_assets.store.models import ManifestPointer
from movie_assets.store.storage import MovieFS

QUARANTINE = "quarantine/blobs"


@dataclass
class RepairReport:
    restored: str | None = None  # how the live pointer was restored, if it had to be
    quarantined_lines: list[str] = field(default_factory=list)
    quarantined_blobs: list[str] = field(default_factory=list)
    missing_live: list[str] = field(default_factory=list)  # outputs of the live revision, remade by regenerate
    missing_old: list[str] = field(default_factory=list)  # only older revisions name them: cannot be remade

    @property
    def needs_regenerate(self) -> bool:
        return bool(self.missing_live)


def restore_pointer(fs: MovieFS) -> str | None:
    """Make the movie readable again when current.json is lost or names a damaged manifest; what was done.

    A lost pointer is written anew (only if still absent) for the newest intact manifest on an intact
    chain; a damaged live manifest is replaced by a new revision with the newest intact one's content, as
    a rollback does (history is never rewritten)."""
    from movie_assets.lifecycle.history import rollback

    manifests = ManifestService(fs)
    pointer = manifests.load_pointer()
    if pointer is not None:
        try:
            manifests.load(pointer.revision, expected_hash=pointer.hash)
            return None
        except (StorageError, ValueError):
            intact = manifests.newest_intact()
            if intact is None:
                return None
            published, source = rollback(fs, str(intact[0].revision)), intact[0].revision
            return f"live {pointer.revision} is damaged: {published.revision} published with the content of {source}"
    try:
        manifests.load_current()
        return None  # never published: nothing to restore
    except PointerMissing:
        intact = manifests.newest_intact()
        if intact is None:
            return None
        manifest, digest = intact
        fresh = ManifestPointer(revision=manifest.revision, manifest=manifest_path(manifest.revision), hash=digest)
        fs.compare_and_swap(CURRENT, lambda current: current is None, fresh.canonical())
        return f"current.json restored to {manifest.revision}"


def repair(fs: MovieFS, events: EventLog) -> RepairReport:
    """Restore a lost or damaged live pointer, quarantine bad log lines and corrupt blobs; list the blobs
    missing from the live and older revisions."""
    restored = restore_pointer(fs)
    report = RepairReport(restored=restored, quarantined_lines=events.quarantine_bad_lines())
    blobs = BlobStore(fs)
    manifests = ManifestService(fs)
    live = manifests.load_current().manifest.blob_hashes()
    referenced: set[str] = set()
    for revision in manifests.history():
        try:
            referenced |= manifests.load(revision).blob_hashes()
        except (InvalidDocument, NotFound):
            continue  # an unreadable manifest is verify's to report; it names nothing we can rebuild
    for blob_hash in sorted(referenced):
        try:
            blobs.verify(blob_hash)
            continue
        except BlobIntegrityError:
            fs.write_atomic(f"{QUARANTINE}/{blob_hash}", fs.read(blob_path(blob_hash)))
            fs.delete(blob_path(blob_hash))
            report.quarantined_blobs.append(blob_hash)
        except NotFound:
            pass
        (report.missing_live if blob_hash in live else report.missing_old).append(blob_hash)
    return report
