"""Publishing a revision safely beside a running GC: every blob it names is present when the pointer swaps.

The check and the compare-and-swap run under the GC lock; the sweep takes the same lock and re-reads
the live pointer before it deletes anything (see gc.GarbageCollector._sweep). So either the commit
comes first and the sweep sees the new revision's blobs as referenced, or the sweep comes first and
the commit finds a blob gone and publishes nothing. No grace period is needed for this.
"""

from __future__ import annotations

from movie_assets.errors import BlobNotFound
from movie_assets.pipeline.blueprint.schema import TIMELINE_MIME
from movie_assets.pipeline.models import ExecutionPlan, RunResult
from movie_assets.store.blobs import GC_LOCK, BlobStore
from movie_assets.store.manifests import ManifestService
from movie_assets.store.models import Manifest, ManifestPointer, TimelineDocument, empty_manifest
from movie_assets.store.parallel import each, io_threads

# A listing costs a request a page of 1,000 names, and reading a page costs what about 16 existence
# checks do; checks are one request per blob, eight at once. So a listing wins once the new blobs
# outnumber one plus one per 64 blobs the movie holds (estimated from the manifest: older revisions'
# blobs add names the estimate does not see): a small movie lists for two new blobs.
NAMES_PER_CHECK = 64


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
        unknown = sorted(manifest.blob_hashes() - set(known_present))
        if len(unknown) > 1 + len(manifest.blob_hashes()) / NAMES_PER_CHECK:  # a listing answers for them all
            stored = blobs.present()
            missing = [h for h in unknown if h not in stored]
        else:  # a few new blobs: checked at once, one request each
            held = each(blobs.has, unknown, io_threads(blobs.fs))
            missing = [h for h, there in zip(unknown, held, strict=True) if not there]
        if missing:
            raise BlobNotFound(
                f"{manifest.movie_id}: {manifest.revision} not published: {len(missing)} blob(s) it names are gone "
                f"(e.g. {missing[0]}; a concurrent gc swept them); run regenerate again to remake them"
            )
        return manifests.save_manifest(manifest, previous_hash)


def run_base(manifests: ManifestService, plan: ExecutionPlan) -> Manifest:
    """The revision a plan was made on (an empty one before the first commit)."""
    if plan.manifest_base_hash is None:
        return empty_manifest(manifests.movie_id)
    return manifests.load(plan.base_revision, expected_hash=plan.manifest_base_hash)


def run_manifest(blobs: BlobStore, run: RunResult, base: Manifest) -> Manifest:
    """The next revision a succeeded run makes of `base`, with its timeline document when it has one."""
    manifest = run.build_manifest(base, run.plan.manifest_base_hash)
    timeline = None
    for entry in manifest.artefacts.values():
        if entry.blob.mime_type == TIMELINE_MIME:
            timeline = TimelineDocument.parse_document(blobs.get(entry.blob), f"timeline {entry.blob.hash}")
    return manifest.replace(timeline=timeline) if timeline else manifest
