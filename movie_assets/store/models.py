"""What this package stores: manifests, pointers, events and the records they hold, as msgspec structs.

Files people write (blueprints, price tables, settings) are pydantic models at their boundary; what the
package writes and reads back itself is validated by msgspec on read. Stored JSON with unknown fields
is rejected either way."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

import msgspec

from movie_assets.errors import InvalidDocument, InvalidValue
from movie_assets.store.hashing import SHA256_PATTERN, builtins_of, canonical_json, exact_str


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


REVISION_PATTERN = r"^rev-(\d{4,})$"


class RevisionId(str):
    """A revision id `rev-NNNN` (four or more digits)."""

    _PATTERN = re.compile(REVISION_PATTERN)

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


REV_ZERO = RevisionId.from_number(0)


# ---- records -------------------------------------------------------------------------------------
# Plain msgspec structs, not pydantic models: a 10,000-artefact manifest holds tens of thousands of them,
# and msgspec decodes and validates such bytes several times faster than pydantic builds the same objects
# (benchmarks/bench_planner.py measures a plan's loads). They are validated
# where bytes or builtins come in (parse_document, decoder, from_builtins); code that builds one from
# values it computed is trusted, as a dataclass would be.


def _decode_hook(kind: type, value: Any) -> Any:
    if kind is RevisionId:
        return RevisionId(value)  # its InvalidValue is a ValueError, which msgspec reports with the path
    raise NotImplementedError(f"no decoder for {kind!r}")


_DECODERS: dict[type, msgspec.json.Decoder] = {}


class Record(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """Base of the stored records: immutable, unknown fields refused. (msgspec applies `kw_only` to the
    fields of the class that declares it, so each record with defaults before required fields says so.)

    Records are not tracked by the cyclic collector (`gc=False`): a record holds values, lists, dicts and
    other records, never anything that leads back to itself, so it can be in no cycle, and a collection
    after a large plan need not scan them."""

    def canonical(self) -> bytes:
        return canonical_json(self.to_builtins())

    def to_builtins(self) -> dict[str, Any]:
        """The record as JSON-ready dicts and lists (every field, defaults included)."""
        return builtins_of(self)

    def to_json(self) -> bytes:
        """Compact JSON in field order (not canonical: for output, not for hashing)."""
        return msgspec.json.encode(self, enc_hook=exact_str)

    def replace(self, **changes: Any) -> Self:
        """A copy with these fields changed."""
        return msgspec.structs.replace(self, **changes)

    @classmethod
    def decoder(cls) -> msgspec.json.Decoder:
        """The JSON decoder of this record type (made once; JSONL readers decode line by line with it)."""
        decoder = _DECODERS.get(cls)
        if decoder is None:
            decoder = _DECODERS[cls] = msgspec.json.Decoder(cls, dec_hook=_decode_hook)
        return decoder

    @classmethod
    def parse_document(cls, data: bytes | str, where: str) -> Self:
        """Parse stored JSON, turning any failure into InvalidDocument naming `where`."""
        try:
            return cls.decoder().decode(data)
        except msgspec.DecodeError as exc:
            raise InvalidDocument(f"{where}: not a valid {cls.__name__}: {located(exc)}") from None

    @classmethod
    def from_builtins(cls, data: Any, what: str | None = None) -> Self:
        """Validate dicts and lists (a pin's value, a legacy file) into a record; InvalidValue if they are not one."""
        try:
            return msgspec.convert(data, cls, dec_hook=_decode_hook)
        except msgspec.ValidationError as exc:
            raise InvalidValue(f"{what or 'value'}: not a valid {cls.__name__}: {located(exc)}") from None


def located(exc: msgspec.DecodeError) -> str:
    """msgspec's message with its `$.a.b` path first (`a.b: message`)."""
    message, _, path = str(exc).rpartition(" - at `$")
    path = path.rstrip("`").lstrip(".")
    return f"{path}: {message}" if message and path else message or str(exc)


Sha256 = Annotated[str, msgspec.Meta(pattern=SHA256_PATTERN)]


class BlobRef(Record, kw_only=True):
    hash: Sha256
    size: Annotated[int, msgspec.Meta(ge=0)]
    mime_type: str = "application/octet-stream"


class InputEntry(Record, kw_only=True):
    """The value of one (expanded) input and the hash of its canonical JSON."""

    value: Any
    hash: str


class BlueprintRef(Record, kw_only=True):
    id: str
    version: str
    hash: str


class JobRecord(Record, kw_only=True):
    """What a manifest remembers about one producer job: its signature and where its outputs are."""

    job_id: str
    producer: str
    producer_version: str
    inputs_hash: str
    indices: dict[str, int] = {}
    deps: dict[str, str] = {}
    outputs: dict[str, BlobRef] = {}


class ArtefactEntry(Record, kw_only=True):
    blob: BlobRef
    job_id: str
    inputs_hash: str


class TimelineClip(Record, kw_only=True):
    artefact_id: str
    start: Annotated[float, msgspec.Meta(ge=0)]
    duration: Annotated[float, msgspec.Meta(gt=0)]
    blob: BlobRef
    text: str | None = None  # the words a narration clip speaks: its caption

    def __post_init__(self) -> None:
        # times are floats in the stored bytes whatever the caller passed (a timeline's start 0 is 0.0)
        as_floats(self, "start", "duration")
        if self.start < 0 or self.duration <= 0:
            raise InvalidValue(f"clip {self.artefact_id}: start must be >= 0 and duration > 0")


class TimelineTrack(Record, kw_only=True):
    kind: Literal["video", "image", "audio", "music"]
    clips: list[TimelineClip] = []


class TimelineDocument(Record, kw_only=True):
    """A film's tracks and how to render them (render/settings.py): size, frame rate, the title card
    that opens it, cross-fades between shots, captions and how a shot of another aspect is fitted."""

    duration: Annotated[float, msgspec.Meta(ge=0)]
    width: int = 320
    height: int = 180
    fps: int = 12
    tracks: list[TimelineTrack] = []
    title: str | None = None
    title_seconds: float = 0.0
    transition: float = 0.0
    captions: str = "off"
    fit: str = "crop"

    def __post_init__(self) -> None:
        as_floats(self, "duration", "title_seconds", "transition")


def as_floats(record: Record, *names: str) -> None:
    """Make these fields floats (a record built from code may hold an int where its bytes need a float)."""
    for name in names:
        value = getattr(record, name)
        if type(value) is not float:
            msgspec.structs.force_setattr(record, name, float(value))


class Manifest(Record, kw_only=True):
    """Immutable snapshot of one revision of a movie."""

    movie_id: str
    revision: RevisionId
    parent: RevisionId | None = None
    parent_hash: str | None = None
    created_at: str
    blueprint: BlueprintRef | None = None
    inputs: dict[str, InputEntry] = {}
    jobs: dict[str, JobRecord] = {}
    artefacts: dict[str, ArtefactEntry] = {}
    timeline: TimelineDocument | None = None
    input_cursor: str | None = None
    artefact_cursor: str | None = None

    def __post_init__(self) -> None:
        as_revisions(self, "revision", "parent")

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


class ManifestPointer(Record, kw_only=True):
    """Content of current.json: which manifest is live."""

    revision: RevisionId
    manifest: str
    hash: str

    def __post_init__(self) -> None:
        as_revisions(self, "revision")


def as_revisions(record: Record, *names: str) -> None:
    # a revision built from a plain string (code, not a parsed file) still has .number and .next()
    for name in names:
        value = getattr(record, name)
        if value is not None and type(value) is not RevisionId:
            msgspec.structs.force_setattr(record, name, RevisionId(value))


class InputEvent(Record, kw_only=True):
    """One edit of one input. `id` is assigned by the event log and orders events."""

    id: str
    key: str
    value: Any
    hash: str
    created_at: str
    edited_by: str = "user"


ArtefactStatus = Literal["succeeded", "failed", "skipped"]


class ArtefactEvent(Record, kw_only=True):
    """One producer result for one artefact (or one failed/skipped job when artefact_id is None)."""

    id: str
    job_id: str
    artefact_id: str | None = None
    producer: str
    producer_version: str
    inputs_hash: str
    status: ArtefactStatus
    output: BlobRef | None = None
    # checked by pattern, not made a RevisionId: a first plan decodes 10,000 of these, and a Python hook
    # per event (a RevisionId, a __post_init__) doubled that (recorder.artefact_event makes them)
    revision: Annotated[str, msgspec.Meta(pattern=REVISION_PATTERN)]
    cost: float = 0.0
    duration_s: float = 0.0
    diagnostics: dict[str, Any] = {}
    created_at: str


def empty_manifest(movie_id: str) -> Manifest:
    """The rev-0000 baseline of a movie that has never been committed."""
    return Manifest(movie_id=movie_id, revision=REV_ZERO, created_at="1970-01-01T00:00:00+00:00")
