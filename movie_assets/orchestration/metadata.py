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
    store: MovieStore,
    records: Iterable[JobRecord],
    viewer_url: str | None,
    status: str,
    why: dict[str, str] | None = None,
) -> dict[str, dg.MetadataValue | str | int | float]:
    """Metadata of one producer's jobs for one movie: one job's outputs in full (link, size, sha256, text
    preview); a loop producer's segments as a table (index, output, sha256, link, why it ran or was
    reused). Outputs are keyed `output/<name>`, so an output called `movie` leaves `movie_id` alone."""
    records = sorted(records, key=lambda r: r.job_id)
    why = why or {}
    out: dict[str, dg.MetadataValue | str | int | float] = {"status": status, "movie_id": store.movie_id}
    if len(records) == 1:
        record = records[0]
        out["signature"] = record.inputs_hash[:16]
        for artefact_id, blob in record.outputs.items():
            name = "output/" + artefact_id.rsplit("/", 1)[-1]
            out[name] = artefact_link(store, artefact_id, blob, viewer_url)
            out[f"{name} sha256"] = blob.hash
            out[f"{name} size"] = dg.MetadataValue.int(blob.size)
            out[f"{name} type"] = blob.mime_type
            preview = text_preview(store, blob)
            if preview is not None:
                out[f"{name} preview"] = preview
        return out
    rows = []
    for record in records:
        for artefact_id, blob in record.outputs.items():
            link = artefact_link(store, artefact_id, blob, viewer_url)
            rows.append(
                dg.TableRecord(
                    {
                        "index": ",".join(str(v) for v in record.indices.values()),
                        "output": artefact_id,
                        "sha256": blob.hash[:16],
                        "link": str(getattr(link, "value", link)),
                        "why": why.get(record.job_id, "carried"),
                    }
                )
            )
    columns = [dg.TableColumn(name) for name in ("index", "output", "sha256", "link", "why")]
    out["segments"] = dg.MetadataValue.table(rows[:500], schema=dg.TableSchema(columns=columns))
    out["jobs"] = dg.MetadataValue.int(len(records))
    return out


def manifest_metadata(store: MovieStore, committed: bool, viewer_url: str | None = None) -> dict:
    """Revision, hash, artefact count, the revision's job tally and a link to its final cut: the viewer's
    page of the movie when one is configured (it plays there), else the exported file."""
    from movie_assets.lifecycle.metrics import load_metrics

    manifest, digest = store.current()
    out: dict = {
        "revision": str(manifest.revision),
        "manifest_hash": digest or "none",
        "committed": committed,
        "artefacts": dg.MetadataValue.int(len(manifest.artefacts)),
    }
    metrics = load_metrics(store.fs, manifest.revision) if digest else None
    if metrics is not None:  # the same tally `history` prints
        out["producer_runs"] = dg.MetadataValue.int(metrics.attempts)
        out["jobs_reused"] = dg.MetadataValue.int(metrics.reused)
        out["cost_usd"] = dg.MetadataValue.float(metrics.cost)
    final = store.final_cut(manifest)
    if final is not None and viewer_url:
        out["final_cut"] = dg.MetadataValue.url(f"{viewer_url.rstrip('/')}/movies/{store.movie_id}")
    elif final is not None:
        where = store.fs.resolve(final)
        local = store.storage.config.driver == "local"
        out["final_cut"] = dg.MetadataValue.path(where) if local else dg.MetadataValue.url(where)
    return out
