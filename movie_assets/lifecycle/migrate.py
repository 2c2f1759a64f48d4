"""Migration of the legacy layout (one folder per revision) into blobs and manifests.

Legacy layout, as the pre-manifest tool wrote it:

    LEGACY_DIR/
      v1/ v2/ ...        one folder per revision, ordered by the number in the name
        inputs.json      optional: {"Title": "...", "SegmentText[0]": "..."}
        timeline.json    {"duration": s, "tracks": [{"kind": "audio", "clips": [{"start": s, "duration": s,
                          "url": "narration-0.wav" | "./x.png" | "file:///abs/LEGACY_DIR/v1/x.png"}]}]}
        *.wav *.png *.mp4 ...   the revision's media files

Each folder becomes one revision: every file a blob (artefact `legacy/<file name>`), the timeline
rewritten so each clip names its blob by hash, in folder order. Re-running is a no-op: a revision
that already exists with the same content is skipped (blobs already stored are not even touched),
one with different content is an error.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from movie_assets.errors import InvalidValue, MigrationError
from movie_assets.lifecycle.publish import publish
from movie_assets.pipeline.blueprint.schema import TIMELINE_MIME
from movie_assets.store.blobs import BlobStore
from movie_assets.store.files import open_regular
from movie_assets.store.hashing import canonical_json, json_hash, sha256_bytes, sha256_stream
from movie_assets.store.manifests import ManifestService, manifest_path
from movie_assets.store.models import (
    ArtefactEntry,
    BlobRef,
    InputEntry,
    Manifest,
    RevisionId,
    TimelineDocument,
)
from movie_assets.store.storage import MovieFS

MIME = {
    ".wav": "audio/wav",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".mp4": "video/mp4",
    ".txt": "text/plain",
    ".json": "application/json",
}
_FOLDER = re.compile(r"^[A-Za-z_-]*(\d+)$")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
META_FILES = ("timeline.json", "inputs.json")


@dataclass
class MigrationReport:
    movie_id: str
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    blobs_stored: int = 0
    warnings: list[str] = field(default_factory=list)


def legacy_revisions(legacy_dir: Path) -> list[Path]:
    """The revision folders, in history order (by the number in their names)."""
    if not legacy_dir.is_dir():
        raise MigrationError(f"{legacy_dir} is not a directory")
    found = []
    for child in legacy_dir.iterdir():
        match = _FOLDER.match(child.name)
        if match and child.is_dir() and not child.is_symlink():  # a linked folder is never followed
            found.append((int(match.group(1)), child.name, child))
    if not found:
        raise MigrationError(f"{legacy_dir} holds no revision folders (v1, v2, ... or rev-1, rev-2, ...)")
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise MigrationError(f"{legacy_dir}: two revision folders carry the same number")
    return [path for _, _, path in sorted(found)]


def _open_regular(path: Path):
    """Open a regular file for reading without following a link (O_NOFOLLOW closes the race with
    a file swapped for a link after it was listed)."""
    try:
        return open_regular(path)
    except InvalidValue as exc:
        raise MigrationError(f"cannot be read as a regular file: {exc}") from None


def _file_hash(path: Path) -> str:
    with _open_regular(path) as handle:
        return sha256_stream(handle)[0]


def _regular_files(folder: Path, report: MigrationReport, warn: bool) -> list[Path]:
    """The folder's media files: regular files only; links (which could point anywhere, such as
    /etc/shadow) and special files are skipped with a warning, never followed."""
    files = []
    for path in sorted(folder.iterdir()):
        if path.name in META_FILES:
            continue
        if path.is_symlink() or not path.is_file():
            if warn:
                kind = "a symbolic link" if path.is_symlink() else "not a regular file"
                report.warnings.append(f"{path}: {kind}, skipped (never followed)")
            continue
        files.append(path)
    return files


def _artefact_id(name: str) -> str:
    return f"legacy/{_SAFE.sub('_', name)}"


def _resolve_url(folder: Path, url: str, where: str) -> Path:
    parsed = urlparse(url)
    if parsed.scheme not in ("", "file"):
        raise MigrationError(f"{where}: asset URL {url!r} is not a file in the revision folder")
    raw = unquote(parsed.path) if parsed.scheme == "file" else url
    target = (folder / raw).resolve() if not os.path.isabs(raw) else Path(raw).resolve()
    if target.parent != folder.resolve():
        raise MigrationError(f"{where}: asset URL {url!r} points outside its revision folder {folder}")
    if not target.is_file():
        raise MigrationError(f"{where}: asset URL {url!r} names a missing file")
    return target


class Migrator:
    """Turn legacy revision folders into manifests of one movie."""

    def __init__(self, fs: MovieFS) -> None:
        self.fs = fs
        self.movie_id = fs.movie_id
        self.blobs = BlobStore(fs)
        self.manifests = ManifestService(fs)

    def migrate(self, legacy_dir: Path) -> MigrationReport:
        report = MigrationReport(self.movie_id)
        folders = legacy_revisions(Path(legacy_dir))
        # build every revision before publishing any, so a broken folder publishes nothing
        built = [self._build(folder, report, dry=True) for folder in folders]
        parent: Manifest | None = None
        parent_hash: str | None = None
        for number, (folder, draft) in enumerate(zip(folders, built, strict=True), start=1):
            revision = RevisionId.from_number(number)
            manifest = draft.replace(
                revision=revision, parent=parent.revision if parent else None, parent_hash=parent_hash
            )
            if self.fs.exists(manifest_path(revision)):
                existing = self.manifests.load(revision)
                if existing.content_key() != manifest.content_key():
                    raise MigrationError(
                        f"{self.movie_id} already has a different {revision}; migrate into a new movie id"
                    )
                parent, parent_hash = existing, _hash_of(self.fs, revision)
                live = self.manifests.load_pointer()
                if live is None or live.revision.number < revision.number:
                    # written by a migration killed before its pointer swap: publish it now
                    publish(self.manifests, self.blobs, existing, self.manifests.current_hash())
                    report.created.append(f"{folder.name} -> {revision} (finishing an interrupted migration)")
                else:
                    report.skipped.append(f"{folder.name} -> {revision}")
                continue
            self._build(folder, report, dry=False)  # store the blobs now that the folder is known good
            pointer = publish(self.manifests, self.blobs, manifest, self.manifests.current_hash())
            report.created.append(f"{folder.name} -> {revision}")
            parent, parent_hash = manifest, pointer.hash
        return report

    def _build(self, folder: Path, report: MigrationReport, dry: bool) -> Manifest:
        files = _regular_files(folder, report, warn=dry)
        artefacts: dict[str, ArtefactEntry] = {}
        refs: dict[Path, tuple[str, BlobRef]] = {}
        for path in files:
            mime = MIME.get(path.suffix.lower(), "application/octet-stream")
            blob_hash = _file_hash(path)
            ref = BlobRef(hash=blob_hash, size=path.stat().st_size, mime_type=mime)
            if not dry and not self.blobs.has(blob_hash):
                with _open_regular(path) as handle:
                    stored = self.blobs.put(handle, mime)
                if stored.hash != blob_hash:
                    raise MigrationError(f"{path} changed while it was migrated")
                report.blobs_stored += 1
            artefact_id = _artefact_id(path.name)
            artefacts[artefact_id] = ArtefactEntry(blob=ref, job_id="legacy", inputs_hash=blob_hash)
            refs[path.resolve()] = (artefact_id, ref)
        inputs = self._inputs(folder)
        timeline = self._timeline(folder, refs)
        if timeline is not None:
            data = canonical_json(timeline)
            ref = BlobRef(hash=sha256_bytes(data), size=len(data), mime_type=TIMELINE_MIME)
            if not dry and not self.blobs.has(ref.hash):
                self.blobs.put(data, TIMELINE_MIME)
                report.blobs_stored += 1
            artefacts["legacy/timeline"] = ArtefactEntry(blob=ref, job_id="legacy", inputs_hash=ref.hash)
        stamp_source = folder / "timeline.json" if (folder / "timeline.json").exists() else folder
        created = datetime.datetime.fromtimestamp(stamp_source.stat().st_mtime, tz=datetime.UTC)
        return Manifest(
            movie_id=self.movie_id,
            revision=RevisionId.from_number(1),
            created_at=created.isoformat(),
            inputs=inputs,
            artefacts=dict(sorted(artefacts.items())),
            timeline=timeline,
        )

    def _inputs(self, folder: Path) -> dict[str, InputEntry]:
        path = folder / "inputs.json"
        if not path.exists():
            return {}
        try:
            with _open_regular(path) as handle:
                values = json.loads(handle.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise MigrationError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(values, dict):
            raise MigrationError(f"{path}: expected an object of input values")
        return {str(k): InputEntry(value=v, hash=json_hash(v)) for k, v in sorted(values.items())}

    def _timeline(self, folder: Path, refs: dict[Path, tuple[str, BlobRef]]) -> TimelineDocument | None:
        path = folder / "timeline.json"
        if not path.exists():
            return None
        where = str(path)
        try:
            with _open_regular(path) as handle:
                raw = json.loads(handle.read().decode("utf-8"))
            tracks = []
            for t, track in enumerate(raw.get("tracks", [])):
                clips = []
                for c, clip in enumerate(track.get("clips", [])):
                    target = _resolve_url(folder, str(clip["url"]), f"{where} tracks[{t}].clips[{c}]")
                    artefact_id, ref = refs[target]
                    clips.append(
                        {"artefact_id": artefact_id, "start": clip["start"], "duration": clip["duration"], "blob": ref}
                    )
                tracks.append({"kind": track["kind"], "clips": clips})
            extra = {k: raw[k] for k in ("width", "height", "fps") if k in raw}
            # a legacy file is written by someone else: validated, as any file a person writes
            return TimelineDocument.from_builtins({"duration": raw["duration"], "tracks": tracks, **extra}, where)
        except MigrationError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MigrationError(f"{where}: not a legacy timeline ({type(exc).__name__}: {exc})") from None


def _hash_of(fs: MovieFS, revision: RevisionId) -> str:
    return sha256_bytes(fs.read(manifest_path(revision)))
