"""What a materialization shows in the Dagster UI: a link to each artefact, text inline, hashes, cost.

Kept small on purpose: the asset page lists every materialization, so no multi-KB JSON dumps.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from movie_assets.movie import MovieStore
from movie_assets.store.blobs import blob_path
from movie_assets.store.models import BlobRef, JobRecord

TEXT_PREVIEW = 600


def artefact_link(store: MovieStore, artefact_id: str, blob: BlobRef, viewer_url: str | None) -> dg.MetadataValue:
    """The viewer page when one is configured, else the blob's file on a local root, else a presigned
    URL (S3), else the blob's name."""
    if viewer_url:
        return dg.MetadataValue.url(f"{viewer_url.rstrip('/')}/movies/{store.movie_id}/artefacts/{artefact_id}")
    where = store.fs.resolve(blob_path(blob.hash))
    if store.storage.config.driver == "local":
        return dg.MetadataValue.path(where)
    shared = store.fs.share_url(blob_path(blob.hash))  # presigned on S3: a click plays it
    if shared:
        return dg.MetadataValue.url(shared)
    return dg.MetadataValue.url(where if "://" in where else f"{store.storage.config.driver}://{where}")


def text_preview(store: MovieStore, blob: BlobRef) -> dg.MetadataValue | None:
    """A text artefact inline (trimmed), so a script or a prompt reads without leaving the UI."""
    if not blob.mime_type.startswith("text/") or blob.size > 64 * 1024:
        return None
    text = store.blobs.get(blob).decode("utf-8", "replace")
    if len(text) > TEXT_PREVIEW:
        text = text[:TEXT_PREVIEW].rstrip() + " …"
    return dg.MetadataValue.md(text)


def record_metadata(
    store: MovieStore, records: Iterable[JobRecord], viewer_url: str | None, status: str
) -> dict[str, dg.MetadataValue | str | int | float]:
    """Metadata of one partition's jobs: per output a link, size, sha256 and (text) preview."""
    records = list(records)
    out: dict[str, dg.MetadataValue | str | int | float] = {"status": status, "movie": store.movie_id}
    several = len(records) > 1
    for record in records:
        prefix = f"{record.job_id}:" if several else ""
        out[f"{prefix}signature"] = record.inputs_hash[:16]
        for artefact_id, blob in record.outputs.items():
            name = prefix + artefact_id.rsplit("/", 1)[-1]
            out[name] = artefact_link(store, artefact_id, blob, viewer_url)
            out[f"{name} sha256"] = blob.hash
            out[f"{name} size"] = dg.MetadataValue.int(blob.size)
            out[f"{name} type"] = blob.mime_type
            preview = text_preview(store, blob)
            if preview is not None:
                out[f"{name} preview"] = preview
    return out
