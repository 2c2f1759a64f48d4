"""Publishing a revision safely beside a running GC: every blob it names is present when the pointer swaps.

The check and the compare-and-swap run under the GC lock; the sweep takes the same lock and re-reads
the live pointer before it deletes anything (see gc.GarbageCollector._sweep). So either the commit
comes first and the sweep sees the new revision's blobs as referenced, or the sweep comes first and
the commit finds a blob gone and publishes nothing. No grace period is needed for this.
"""

from __future__ import annotations

from movie_assets.errors import BlobNotFound
from movie_assets.store.blobs import GC_LOCK, BlobStore
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import Manifest, ManifestPointer


def publish(
    manifests: ManifestService,
    blobs: BlobStore,
    manifest: Manifest,
    previous_hash: str | None,
    known_present: set[str] | frozenset[str] = frozenset(),
) -> ManifestPointer:
    """Write `manifest` and swap current.json to it iff every blob it references exists.

    `known_present` are hashes the caller knows a GC cannot have taken (those of the live revision, which
    every sweep marks); the others are checked. Raises BlobNotFound, publishing nothing, if one is gone.
    """
    with blobs.fs.lock(GC_LOCK):
        missing = sorted(h for h in manifest.blob_hashes() - set(known_present) if not blobs.has(h))
        if missing:
            raise BlobNotFound(
                f"{manifest.movie_id}: {manifest.revision} not published: {len(missing)} blob(s) it names are gone "
                f"(e.g. {missing[0]}; a concurrent gc swept them); run regenerate again to remake them"
            )
        return manifests.save_manifest(manifest, previous_hash)
