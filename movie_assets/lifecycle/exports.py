"""The final cut of a revision as a plain file: `exports/<revision>.<ext>`.

Written after every commit, whichever face committed (CLI, viewer, MCP or Dagster), so a movie maker
finds the film of each revision, and its captions (`.srt`, `.vtt`), in the same place. Like the readable
copies it is a convenience: the blob named in the manifest is the truth.
"""

from __future__ import annotations

from movie_assets.render.captions import cues, srt, vtt
from movie_assets.store.blobs import BlobStore
from movie_assets.store.models import ArtefactEntry, Manifest
from movie_assets.store.storage import MovieFS

EXTENSIONS = {"video/mp4": "mp4", "audio/wav": "wav", "audio/mpeg": "mp3", "image/png": "png"}


def final_artefact(manifest: Manifest) -> tuple[str, ArtefactEntry] | None:
    """The revision's exported artefact (`export/...`), or None when its blueprint exports nothing."""
    for artefact_id, entry in sorted(manifest.artefacts.items()):
        if artefact_id.startswith("export/"):
            return artefact_id, entry
    return None


def export_path(manifest: Manifest) -> str | None:
    """Where the revision's final cut is written (relative to the movie), or None."""
    found = final_artefact(manifest)
    return _path(manifest, found[1]) if found else None


def _path(manifest: Manifest, entry: ArtefactEntry) -> str:
    return f"exports/{manifest.revision}.{EXTENSIONS.get(entry.blob.mime_type, 'bin')}"


def write_final_cut(fs: MovieFS, blobs: BlobStore, manifest: Manifest) -> str | None:
    """Copy the final cut's blob to `exports/`, with its captions as SRT and WebVTT beside it when the
    film has narration and captions are not off; the cut's path, or None. A revision's files hold the
    same bytes however often they are written (a housekeeping finished again writes them again), so
    nothing is asked first: on S3 that is a round trip less."""
    found = final_artefact(manifest)
    if found is None:
        return None
    rel = _path(manifest, found[1])
    blobs.copy_to(found[1].blob, rel)
    document = manifest.timeline
    if document is not None and document.captions != "off" and found[1].blob.mime_type.startswith("video/"):
        timed = cues(document)
        if timed:
            for ext, text in (("srt", srt(timed)), ("vtt", vtt(timed))):
                fs.write_atomic(f"exports/{manifest.revision}.{ext}", text.encode("utf-8"))
    return rel


def captions_path(manifest: Manifest, ext: str = "vtt") -> str:
    """Where a revision's captions are written (relative to the movie)."""
    return f"exports/{manifest.revision}.{ext}"
