"""Canonical JSON and sha256 helpers: the only way bytes become hashes."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

import msgspec

CHUNK_SIZE = 1024 * 1024
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(text: object) -> bool:
    """True for a lowercase hex sha256 digest (a blob name)."""
    return isinstance(text, str) and _SHA256.fullmatch(text) is not None


def new_sha256() -> hashlib._Hash:
    """An incremental sha256 for data that arrives in chunks (blob streams)."""
    return hashlib.sha256()


def exact_str(value: Any) -> str:
    """msgspec's hook for str subclasses (RevisionId), which it encodes as exact str only."""
    if isinstance(value, str):
        return str(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


def builtins_of(value: msgspec.Struct) -> Any:
    """A msgspec record as JSON-ready dicts and lists, every field included."""
    return msgspec.to_builtins(value, enc_hook=exact_str)


def _plain(value: Any) -> Any:
    return builtins_of(value) if isinstance(value, msgspec.Struct) else value


# exactly what json.dumps builds from these arguments, built once (a plan hashes 10,000 signatures)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# For text and integers msgspec writes exactly the bytes `canonical_json` writes (test_models_hashing
# checks it over random text), and much faster: a plan that re-signs thousands of jobs would otherwise spend
# more time encoding their payloads than hashing them. Not for floats: msgspec writes 1e16 where json writes 1e+16.
_TEXT_AND_INTEGERS = msgspec.json.Encoder(order="sorted")


def canonical_json(value: Any) -> bytes:
    """Serialise to canonical JSON: sorted keys, no whitespace, UTF-8, no NaN."""
    return _CANONICAL.encode(_plain(value)).encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of a byte string."""
    return hashlib.sha256(data).hexdigest()


def sha256_stream(stream: BinaryIO | Iterable[bytes], chunk_size: int = CHUNK_SIZE) -> tuple[str, int]:
    """Hex sha256 and byte count of a binary stream or an iterable of chunks, read in bounded chunks."""
    digest = new_sha256()
    size = 0
    if hasattr(stream, "read"):
        while chunk := stream.read(chunk_size):  # type: ignore[union-attr]
            digest.update(chunk)
            size += len(chunk)
    else:
        for chunk in stream:
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def json_hash(value: Any) -> str:
    """sha256 of the canonical JSON of a value (the input hash of an edit's payload)."""
    if type(value) is str:  # the usual input, text: msgspec writes the same bytes (see _TEXT_AND_INTEGERS)
        return sha256_bytes(_TEXT_AND_INTEGERS.encode(value))
    return sha256_bytes(canonical_json(value))


def inputs_hash(
    producer: str,
    producer_version: str,
    deps: Mapping[str, str],
    indices: Mapping[str, int] | None = None,
    take: int = 0,
) -> str:
    """Job signature: hash of producer, version, sorted (dep id, dep hash), loop indices and take.

    Loop indices are part of the signature so two segments with identical upstream hashes are still
    two different jobs (a producer may use its index, e.g. to title a segment). A take above 0 (a
    reroll) makes another signature, so another result; take 0 leaves every signature as it was.
    """
    # pairs as arrays, sorted by key; the encoder sorts the indices' keys itself (the bytes are the
    # canonical JSON's, pinned by test_models_hashing)
    payload: dict = {
        "producer": producer,
        "version": producer_version,
        "deps": sorted(deps.items()),
        "indices": indices or {},
    }
    if take:
        payload["take"] = take
    return sha256_bytes(_TEXT_AND_INTEGERS.encode(payload))
