"""Pydantic v2 models for everything stored or exchanged. Stored JSON with unknown fields is rejected."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, ValidationError
from pydantic_core import core_schema

from movie_assets.errors import InvalidDocument, InvalidValue
from movie_assets.store.hashing import SHA256_PATTERN, canonical_json


class StrictModel(BaseModel):
    """Base: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def canonical(self) -> bytes:
        return canonical_json(self)

    @classmethod
    def trusted(cls, fields: dict[str, Any]) -> Self:
        """An instance from every field's final value, not validated: for hot paths that build thousands
        from parts already validated (a plan's job descriptors). It sets what model_construct sets, without
        walking the field list per call, which cost half the time of building a 10,000-job plan's
        descriptors. `test_models` checks it against validation."""
        if len(fields) != len(cls.__pydantic_fields__):
            raise TypeError(f"{cls.__name__}.trusted() needs every field, got {sorted(fields)}")
        instance = cls.__new__(cls)
        object.__setattr__(instance, "__dict__", fields)
        object.__setattr__(instance, "__pydantic_fields_set__", set(fields))
        object.__setattr__(instance, "__pydantic_extra__", None)
        object.__setattr__(instance, "__pydantic_private__", None)
        return instance

    @classmethod
    def parse_document(cls, data: bytes | str, where: str) -> Any:
        """Parse stored JSON, turning any failure into InvalidDocument naming `where`."""
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
            )
            raise InvalidDocument(f"{where}: not a valid {cls.__name__}: {problems}") from None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class RevisionId(str):
    """A revision id `rev-NNNN` (four or more digits)."""

    _PATTERN = re.compile(r"^rev-(\d{4,})$")

    def __new__(cls, value: str) -> RevisionId:
        if not isinstance(value, str) or not cls._PATTERN.match(value):
            raise InvalidValue(f"not a revision id (expected rev-NNNN): {value!r}")
        return super().__new__(cls, value)

    @classmethod
    def parse(cls, value: str) -> RevisionId:
        return cls(value)

    @classmethod
    def from_number(cls, number: int) -> RevisionId:
        if number < 0:
            raise InvalidValue(f"revision number must be >= 0, got {number}")
        return cls(f"rev-{number:04d}")

    @property
    def number(self) -> int:
        return int(self[4:])

    def next(self) -> RevisionId:
        return RevisionId.from_number(self.number + 1)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(), serialization=core_schema.to_string_ser_schema()
        )


REV_ZERO = RevisionId.from_number(0)


class BlobRef(StrictModel):
    hash: str = Field(pattern=SHA256_PATTERN)
    size: int = Field(ge=0)
    mime_type: str = "application/octet-stream"


class InputEntry(StrictModel):
    """The value of one (expanded) input and the hash of its canonical JSON."""

    value: Any
    hash: str


class InputEvent(StrictModel):
    """One edit of one input. `id` is assigned by the event log and orders events."""

    id: str
    key: str
    value: Any
    hash: str
    created_at: str
    edited_by: str = "user"


ArtefactStatus = Literal["succeeded", "failed", "skipped"]


class ArtefactEvent(StrictModel):
    """One producer result for one artefact (or one failed/skipped job when artefact_id is None)."""

    id: str
    job_id: str
    artefact_id: str | None = None
    producer: str
    producer_version: str
    inputs_hash: str
    status: ArtefactStatus
    output: BlobRef | None = None
    revision: RevisionId
    cost: float = 0.0
    duration_s: float = 0.0
    diagnostics: dict[str, Any] = Field(default_factory=dict)
    created_at: str


class BlueprintRef(StrictModel):
    id: str
    version: str
    hash: str


class JobRecord(StrictModel):
    """What a manifest remembers about one producer job: its signature and where its outputs are."""

    job_id: str
    producer: str
    producer_version: str
    inputs_hash: str
    indices: dict[str, int] = Field(default_factory=dict)
    deps: dict[str, str] = Field(default_factory=dict)
    outputs: dict[str, BlobRef] = Field(default_factory=dict)


class ArtefactEntry(StrictModel):
    blob: BlobRef
    job_id: str
    inputs_hash: str


class TimelineClip(StrictModel):
    artefact_id: str
    start: float = Field(ge=0)
    duration: float = Field(gt=0)
    blob: BlobRef


class TimelineTrack(StrictModel):
    kind: Literal["video", "image", "audio", "music"]
    clips: list[TimelineClip] = Field(default_factory=list)


class TimelineDocument(StrictModel):
    duration: float = Field(ge=0)
    width: int = 320
    height: int = 180
    fps: int = 12
    tracks: list[TimelineTrack] = Field(default_factory=list)


class Manifest(StrictModel):
    """Immutable snapshot of one revision of a movie."""

    movie_id: str
    revision: RevisionId
    parent: RevisionId | None = None
    parent_hash: str | None = None
    created_at: str
    blueprint: BlueprintRef | None = None
    inputs: dict[str, InputEntry] = Field(default_factory=dict)
    jobs: dict[str, JobRecord] = Field(default_factory=dict)
    artefacts: dict[str, ArtefactEntry] = Field(default_factory=dict)
    timeline: TimelineDocument | None = None
    input_cursor: str | None = None
    artefact_cursor: str | None = None

    def content_key(self) -> bytes:
        """Canonical bytes of what the revision *contains* (not when or from where it was made)."""
        return canonical_json(
            {
                "inputs": {k: v.hash for k, v in self.inputs.items()},
                "artefacts": {k: v.blob.hash for k, v in self.artefacts.items()},
                "jobs": {k: v.inputs_hash for k, v in self.jobs.items()},
                "blueprint": self.blueprint.hash if self.blueprint else None,
            }
        )

    def blob_hashes(self) -> set[str]:
        """Every blob the revision references: artefacts, job outputs and timeline clips."""
        found = {entry.blob.hash for entry in self.artefacts.values()}
        for record in self.jobs.values():
            found.update(ref.hash for ref in record.outputs.values())
        if self.timeline:
            found.update(clip.blob.hash for track in self.timeline.tracks for clip in track.clips)
        return found


class ManifestPointer(StrictModel):
    """Content of current.json: which manifest is live."""

    revision: RevisionId
    manifest: str
    hash: str


def empty_manifest(movie_id: str) -> Manifest:
    """The rev-0000 baseline of a movie that has never been committed."""
    return Manifest(movie_id=movie_id, revision=REV_ZERO, created_at="1970-01-01T00:00:00+00:00")
