"""What the pages show, computed from a movie's manifests: plain data for the templates, no HTTP here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from movie_assets.errors import MovieAssetsError, NotFound
from movie_assets.lifecycle.exports import captions_path
from movie_assets.lifecycle.history import ManifestDiff
from movie_assets.lifecycle.metrics import load_metrics
from movie_assets.movie import MovieStore
from movie_assets.store.models import ArtefactEntry, Manifest

TEXT_PREVIEW = 2000  # characters of a text artefact shown inline
_SEGMENT = re.compile(r"^(segment)-(\d{4,})/")


@dataclass
class Media:
    """One artefact as the page shows it: a player, an image, or text."""

    artefact_id: str
    kind: str  # video | audio | image | text | json | other
    mime_type: str
    size: int
    blob_hash: str
    job_id: str
    text: str | None = None

    @property
    def label(self) -> str:
        parts = self.artefact_id.split("/")
        return parts[-2] if len(parts) > 1 else parts[-1]


@dataclass
class Segment:
    index: int
    media: list[Media] = field(default_factory=list)

    def first(self, kind: str) -> Media | None:
        return next((m for m in self.media if m.kind == kind), None)

    @property
    def script(self) -> Media | None:
        return next((m for m in self.media if m.kind == "text" and "prompt" not in m.artefact_id), None)


@dataclass
class Track:
    kind: str
    clips: list[dict[str, Any]]


@dataclass
class MovieView:
    movie_id: str
    revision: str
    live: bool
    blueprint: str
    final_cut: Media | None
    segments: list[Segment]
    movie_level: list[Media]
    tracks: list[Track]
    duration: float
    inputs: list[tuple[str, Any]]
    revisions: list[str]
    captions: str | None = None  # the WebVTT track of the final cut, when the revision has one


def kind_of(mime_type: str) -> str:
    head = mime_type.split("/", 1)[0]
    if head in ("video", "audio", "image"):
        return head
    if mime_type.startswith("text/"):
        return "text"
    return "json" if "json" in mime_type else "other"


def media_of(store: MovieStore, artefact_id: str, entry: ArtefactEntry) -> Media:
    kind = kind_of(entry.blob.mime_type)
    text = None
    if kind == "text":
        try:
            text = store.blobs.get(entry.blob).decode("utf-8", errors="replace")[:TEXT_PREVIEW]
        except MovieAssetsError as exc:
            text = f"(unavailable: {exc})"
    return Media(artefact_id, kind, entry.blob.mime_type, entry.blob.size, entry.blob.hash, entry.job_id, text)


def load_revision(store: MovieStore, revision: str | None) -> tuple[Manifest, bool]:
    """The requested revision (default: the live one) and whether it is live; NotFound if unknown."""
    live, _ = store.current()
    if revision in (None, "", str(live.revision)):
        if live.revision.number == 0:
            raise NotFound(f"{store.movie_id} has no revision yet: regenerate it first")
        return live, True
    return store.manifests.load(revision), False


def movie_view(store: MovieStore, revision: str | None = None) -> MovieView:
    manifest, live = load_revision(store, revision)
    segments: dict[int, Segment] = {}
    movie_level: list[Media] = []
    final_cut = None
    for artefact_id, entry in sorted(manifest.artefacts.items()):
        media = media_of(store, artefact_id, entry)
        if match := _SEGMENT.match(artefact_id):
            index = int(match.group(2))
            segments.setdefault(index, Segment(index)).media.append(media)
        elif artefact_id.startswith("export/"):
            final_cut = media
        elif media.kind != "json":
            movie_level.append(media)
    timeline = manifest.timeline
    tracks = []
    if timeline:
        for track in timeline.tracks:
            clips = [
                {
                    "artefact_id": c.artefact_id,
                    "start": c.start,
                    "duration": c.duration,
                    "left": 100 * c.start / timeline.duration if timeline.duration else 0,
                    "width": 100 * c.duration / timeline.duration if timeline.duration else 0,
                    "segment": m.group(2).lstrip("0") or "0" if (m := _SEGMENT.match(c.artefact_id)) else "",
                }
                for c in track.clips
            ]
            tracks.append(Track(track.kind, clips))
    return MovieView(
        movie_id=store.movie_id,
        revision=str(manifest.revision),
        live=live,
        blueprint=f"{manifest.blueprint.id} v{manifest.blueprint.version}" if manifest.blueprint else "legacy",
        final_cut=final_cut,
        segments=[segments[i] for i in sorted(segments)],
        movie_level=movie_level,
        tracks=tracks,
        duration=timeline.duration if timeline else 0.0,
        captions=f"/movies/{store.movie_id}/captions/{manifest.revision}.vtt"
        if final_cut is not None and store.fs.exists(captions_path(manifest))
        else None,
        inputs=sorted((k, e.value) for k, e in manifest.inputs.items()),
        revisions=[str(r) for r in store.manifests.history()],
    )


@dataclass
class HistoryRow:
    revision: str
    parent: str
    created_at: str
    live: bool
    published: bool
    jobs: int
    reused: int
    cost: float
    duration_s: float


def history_rows(store: MovieStore) -> list[HistoryRow]:
    rows = []
    for item in reversed(store.history()):
        metrics = load_metrics(store.fs, item.revision)
        rows.append(
            HistoryRow(
                str(item.revision),
                str(item.parent or ""),
                item.created_at[:19].replace("T", " "),
                item.live,
                item.published,
                metrics.jobs if metrics else 0,
                metrics.reused if metrics else 0,
                metrics.cost if metrics else 0.0,
                metrics.duration_s if metrics else 0.0,
            )
        )
    return rows


def diff_media(store: MovieStore, diff: ManifestDiff) -> list[tuple[str, str, Media | None, Media | None]]:
    """(change, artefact id, media in a, media in b) for every artefact that differs."""
    a, b = store.manifests.load(diff.a), store.manifests.load(diff.b)
    out = []
    for change, ids in (("changed", diff.changed), ("added", diff.added), ("removed", diff.removed)):
        for artefact_id in ids:
            left = media_of(store, artefact_id, a.artefacts[artefact_id]) if artefact_id in a.artefacts else None
            right = media_of(store, artefact_id, b.artefacts[artefact_id]) if artefact_id in b.artefacts else None
            out.append((change, artefact_id, left, right))
    return out
