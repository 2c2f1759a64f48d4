"""Ids and relative paths: the one place that decides what may name a file inside a movie root."""

from __future__ import annotations

import re

from movie_assets.errors import InvalidId

MOVIE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_COMPONENT = re.compile(r"[A-Za-z0-9_@=+\-\[\]][A-Za-z0-9_.@=+\-\[\]]{0,199}")
INTERNAL_SUFFIXES = (".lock", ".lease", ".tmp")
STAGING_DIR = ".staging"


def is_internal(relative: str) -> bool:
    """True for the store's own bookkeeping files: locks, temp files, the staging area, dot files."""
    return relative.endswith(INTERNAL_SUFFIXES) or relative.startswith(STAGING_DIR) or "/." in f"/{relative}"


def is_movie_id(movie_id: str) -> bool:
    """True if `movie_id` is a valid movie id (the same rule validate_movie_id enforces)."""
    return isinstance(movie_id, str) and MOVIE_ID.fullmatch(movie_id) is not None


def validate_movie_id(movie_id: str) -> str:
    """Return the id if it is a safe movie id, else raise InvalidId."""
    if not is_movie_id(movie_id):
        raise InvalidId(
            f"invalid movie id {movie_id!r}: use 1-128 letters, digits, '-' or '_', starting with a letter/digit"
        )
    return movie_id


def validate_relative(relative: str) -> str:
    """Return a normalised relative path if every component is safe, else raise InvalidId."""
    if not isinstance(relative, str) or "\x00" in relative or "\\" in relative:
        raise InvalidId(f"invalid path {relative!r}: NUL and backslash are not allowed")
    if relative.startswith("/") or re.match(r"^[A-Za-z]+:", relative):
        raise InvalidId(f"invalid path {relative!r}: absolute paths and URLs are not allowed")
    parts = relative.split("/") if relative else []
    for part in parts:
        if part in ("", ".", "..") or not _COMPONENT.fullmatch(part):
            raise InvalidId(f"invalid path {relative!r}: component {part!r} is not allowed")
    return "/".join(parts)


def validate_artefact_id(artefact_id: str) -> str:
    """Artefact ids are relative paths of safe components (e.g. `segment-0001/script/text`)."""
    if not artefact_id:
        raise InvalidId("empty artefact id")
    return validate_relative(artefact_id)


def validate_internal(relative: str) -> str:
    """Like validate_relative, but also admits the store's own bookkeeping names (`.staging/…`,
    `.x.json.<uuid>.tmp`), which only the store's clean-up may name."""
    if not isinstance(relative, str) or "\x00" in relative or "\\" in relative or relative.startswith("/"):
        raise InvalidId(f"invalid path {relative!r}")
    parts = relative.split("/")
    if any(part in ("", ".", "..") or len(part) > 255 for part in parts):
        raise InvalidId(f"invalid path {relative!r}")
    return relative
