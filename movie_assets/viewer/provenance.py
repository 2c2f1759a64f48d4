"""Where an artefact came from: its job, producer, model, the text it was made from, cost and hashes."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from movie_assets.errors import MovieAssetsError, NotFound
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.shape import asset_group
from movie_assets.store.models import Manifest
from movie_assets.viewer.views import Media, media_of


@dataclass
class Provenance:
    revision: str
    media: Media
    producer: str = "legacy"
    version: str = ""
    provider: str = ""
    model: str = ""
    signature: str = ""
    cost: float | None = None
    duration_s: float | None = None
    made_in: str = ""
    reused_from: str = ""
    sources: list[Media] = field(default_factory=list)  # text artefacts it read (prompts, scripts)
    inputs: list[tuple[str, str]] = field(default_factory=list)  # (input key, value) it read
    dagster_path: str = ""


def provenance(store: MovieStore, manifest: Manifest, artefact_id: str) -> Provenance:
    entry = manifest.artefacts.get(artefact_id)
    if entry is None:
        raise NotFound(f"{manifest.revision} has no artefact {artefact_id!r}")
    info = Provenance(str(manifest.revision), media_of(store, artefact_id, entry))
    record = manifest.jobs.get(entry.job_id)
    if record is None:
        return info  # migrated from the legacy layout: no producer recorded
    info.producer, info.version, info.signature = record.producer, record.producer_version, record.inputs_hash
    try:
        bp = store.blueprint()
        spec = bp.producers.get(record.producer)
        if spec is not None:
            info.provider, info.model = spec.provider, spec.model or ""
            info.dagster_path = f"{asset_group(bp.meta.id)}/{record.producer}?partition={quote(store.movie_id)}"
    except MovieAssetsError:
        pass
    for key in sorted(record.deps):
        dep = key.split("=", 1)[1]
        if dep in manifest.artefacts and manifest.artefacts[dep].blob.mime_type.startswith("text/"):
            info.sources.append(media_of(store, dep, manifest.artefacts[dep]))
        elif dep in manifest.inputs:
            info.inputs.append((dep, str(manifest.inputs[dep].value)[:300]))
    _attach_event(store, info, entry.blob.hash, record.inputs_hash)
    return info


def _attach_event(store: MovieStore, info: Provenance, blob_hash: str, signature: str) -> None:
    """Cost, duration and revision from the artefact event that produced this blob under this signature."""
    try:
        for event in store.events.stream_artefacts():
            if event.output and event.output.hash == blob_hash and event.inputs_hash == signature:
                if event.status == "succeeded":
                    info.cost, info.duration_s, info.made_in = event.cost, event.duration_s, str(event.revision)
                elif event.status == "skipped" and not info.made_in:
                    info.reused_from = str(event.diagnostics.get("reused_from", ""))
    except MovieAssetsError:
        pass  # a damaged log hides the cost, not the page
