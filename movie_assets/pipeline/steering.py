"""Steering a movie beyond its inputs: pinning your own file as an artefact, asking a job for another take.

Both are logged as input events under reserved keys, so they are versioned, folded and published
like any input (a revision's manifest records its pins and takes):
- `@pin:<artefact id>` = {hash, size, mime_type} of a stored blob, or None to unpin;
- `@take:<job id>` = the take number (0 is the producer's first), or None to go back to take 0;
- `@model:<producer>` = the id of one of the producer's model choices, or None for the blueprint's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from movie_assets.errors import InvalidValue
from movie_assets.store.models import BlobRef

# an input is copied into every later manifest: a multi-megabyte value would bloat each revision; a text
# standing in for an artefact is read whole by every job that uses it
MAX_VALUE_BYTES = 256 * 1024
PIN = "@pin:"
TAKE = "@take:"
MODEL = "@model:"


def is_steering(key: str) -> bool:
    return key.startswith((PIN, TAKE, MODEL))


def model_key(producer: str) -> str:
    return f"{MODEL}{producer}"


def pin_key(artefact_id: str) -> str:
    return f"{PIN}{artefact_id}"


def take_key(job_id: str) -> str:
    return f"{TAKE}{job_id}"


def refuse_reserved(edits: Mapping[str, Any]) -> None:
    """InvalidValue for an edit under a reserved key (`@pin:`, `@take:`, `@model:`): those are written by
    override, unpin, reroll and `producer.model=` picks, which check what they name first."""
    reserved = sorted(str(key) for key in edits if str(key).strip().startswith("@"))
    if reserved:
        raise InvalidValue(
            f"{', '.join(reserved)}: reserved keys are not edits; use `override`, `unpin`, `reroll` or "
            "PRODUCER.model=CHOICE"
        )


def check_steering(key: str, value: Any) -> Any:
    """The value of a steering edit, checked; InvalidValue with the reason."""
    if value is None:
        return None
    if key.startswith(PIN):
        try:
            return BlobRef.from_builtins(value).to_builtins()
        except ValueError:
            raise InvalidValue(f"{key}: a pin is a blob reference {{hash, size, mime_type}}") from None
    if key.startswith(MODEL):
        if not isinstance(value, str) or not value:
            raise InvalidValue(f"{key}: a model choice is the id of one of the producer's models")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValue(f"{key}: a take is a whole number from 0")
    return value


@dataclass
class Steering:
    pins: dict[str, BlobRef] = field(default_factory=dict)  # artefact id -> the user's blob
    takes: dict[str, int] = field(default_factory=dict)  # job id -> take

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Steering:
        steering = cls()
        for key, value in values.items():
            if value is None:
                continue
            if key.startswith(PIN):
                steering.pins[key[len(PIN) :]] = BlobRef.from_builtins(value, key)
            elif key.startswith(TAKE):
                steering.takes[key[len(TAKE) :]] = int(value)
        return steering

    def pinned(self, artefact_ids: list[str]) -> dict[str, BlobRef]:
        return {a: self.pins[a] for a in artefact_ids if a in self.pins}


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF8", 0, "image/gif"),
    (b"WAVE", 8, "audio/wav"),
    (b"ftyp", 4, "video/mp4"),
    (b"ID3", 0, "audio/mpeg"),
    (b"OggS", 0, "audio/ogg"),
)


def sniff(head: bytes) -> str:
    """The type a file's first bytes show (what it is, whatever its name says)."""
    for magic, offset, mime in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return mime
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character cut at the end of the sample is still text
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
    return "text/plain" if "\x00" not in text else "application/octet-stream"


_SNIFFED = {mime for _, _, mime in _MAGIC}


def fits(declared: str, head: bytes) -> str | None:
    """None when a blob starting with `head` can be of type `declared`, else what its bytes show: a type
    the first bytes prove must be the declared one; a text type must be text."""
    found = sniff(head)
    if found == declared or (declared.startswith("text/") and found == "text/plain"):
        return None
    if declared in _SNIFFED or declared.startswith("text/"):
        return found
    return None  # a type the first bytes cannot prove (JSON documents, the timeline): taken as declared


def checked_replacement(artefact_id: str, declared: str, data: bytes | BinaryIO) -> bytes | BinaryIO:
    """A user's file to stand in for an artefact of type `declared`, checked: its first bytes show that
    type, and a text is no longer than an input value may be (every job that uses it reads it whole).
    A stream comes back rewound, a text as bytes."""
    if declared.startswith("text/"):
        if not isinstance(data, bytes | bytearray):
            data = data.read(MAX_VALUE_BYTES + 1)
        if len(data) > MAX_VALUE_BYTES:
            raise InvalidValue(f"{artefact_id}: a text of over {MAX_VALUE_BYTES:,} bytes cannot stand in for it")
    head = data[:64] if isinstance(data, bytes | bytearray) else data.read(64)
    if not isinstance(data, bytes | bytearray):
        data.seek(0)
    check_replacement(artefact_id, declared, bytes(head))
    return data


def check_replacement(artefact_id: str, declared: str, head: bytes) -> None:
    """Refuse a user's file whose content is not of the type the artefact's producer makes."""
    found = sniff(head)
    if found != declared and not (declared.startswith("text/") and found == "text/plain"):
        raise InvalidValue(f"{artefact_id} is {declared}; the file given is {found}")


def replaceable_output(graph: Any, artefact_id: str, movie_id: str) -> Any:
    """The output spec of `artefact_id` in a producer graph, if a file of the user's can stand for it:
    InvalidValue when no producer makes it, or when its producer makes it together with others."""
    for node in graph.nodes.values():
        for output in node.outputs:
            if output.artefact_id == artefact_id:
                if len(node.outputs) > 1:
                    raise InvalidValue(
                        f"{node.job_id} makes {len(node.outputs)} artefacts together; one cannot be replaced"
                    )
                return output
    raise InvalidValue(f"{movie_id} has no artefact {artefact_id!r}; see `movie-assets show {movie_id}`")
