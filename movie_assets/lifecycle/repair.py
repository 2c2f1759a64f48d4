"""`verify --repair`: set aside what is damaged so regeneration can remake it.

- malformed event-log lines move to `events/quarantine/` (every good line stays);
- a referenced blob whose bytes no longer match its hash moves to `quarantine/blobs/`;
then planning sees the live revision's missing outputs as dirty and a regenerate remakes them. Blobs
of older revisions cannot be remade (their inputs are gone) and are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from movie_assets.errors import BlobIntegrityError, InvalidDocument, NotFound
from movie_assets.store.blobs import BlobStore, blob_path
from movie_assets.store.events import EventLog
from movie_assets.store.manifests import ManifestService
from movie_assets.store.storage import MovieFS

QUARANTINE = "quarantine/blobs"


@dataclass
class RepairReport:
    quarantined_lines: list[str] = field(default_factory=list)
    quarantined_blobs: list[str] = field(default_factory=list)
    missing_live: list[str] = field(default_factory=list)  # outputs of the live revision, remade by regenerate
    missing_old: list[str] = field(default_factory=list)  # only older revisions name them: cannot be remade

    @property
    def needs_regenerate(self) -> bool:
        return bool(self.missing_live)


def repair(fs: MovieFS, events: EventLog) -> RepairReport:
    """Quarantine bad log lines and corrupt blobs; list the blobs missing from the live and older revisions."""
    report = RepairReport(quarantined_lines=events.quarantine_bad_lines())
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
