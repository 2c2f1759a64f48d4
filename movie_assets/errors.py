"""Every error the package raises derives from MovieAssetsError, so each face catches one type.

The classes also derive from the builtin they refine (FileNotFoundError, ValueError, LookupError)
where callers outside the package may reasonably catch that instead.
"""

from __future__ import annotations


class MovieAssetsError(Exception):
    """Root of every error raised by movie_assets."""


class InvalidValue(MovieAssetsError, ValueError):
    """A value handed in by a caller is malformed (a URL, a revision id, a duration, a KEY=VALUE pair)."""


class InvalidDocument(MovieAssetsError, ValueError):
    """A stored document (JSON line, manifest, plan...) could not be parsed; says where and why."""


# ---- storage ------------------------------------------------------------------------------------


class StorageError(MovieAssetsError):
    """Base class of storage failures."""


class NotFound(StorageError, FileNotFoundError):
    """The path does not exist."""


class CasConflict(StorageError):
    """A compare-and-swap found the file changed under it; nothing was written."""


class InvalidId(StorageError, ValueError):
    """A movie id, artefact id or relative path would escape its root or is malformed."""


class ConditionalWritesUnsupported(StorageError):
    """The object store ignores or refuses conditional PUTs and no lock server was configured."""


class BlobIntegrityError(StorageError):
    """A stored blob's bytes do not hash to its name."""


class BlobNotFound(NotFound):
    """No blob with that hash in this movie."""


class ManifestConflict(StorageError):
    """The live revision moved since the caller read it; nothing was published."""


class PointerMissing(StorageError):
    """current.json is gone although revisions were published: nothing reads or writes the movie until
    `verify --repair` restores it (a regenerate would otherwise start a new history and pay again)."""


class RunInProgress(StorageError):
    """Another process is regenerating the movie; the operation would pull the store from under it."""


class UnknownMovie(StorageError, LookupError):
    """No movie with that id under the storage root."""


class MovieExists(StorageError):
    """init was asked to create a movie that already exists."""


class MigrationError(StorageError):
    """A legacy folder cannot be imported as it is; nothing of it was published."""


# ---- blueprints and producers ---------------------------------------------------------------------


class BlueprintError(MovieAssetsError, ValueError):
    """A blueprint (or an edit checked against one) is invalid; lists every problem with its YAML path."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "blueprint") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(f"{path}: {msg}" for path, msg in problems))


class CycleError(BlueprintError):
    """The producers (or the expanded jobs) depend on each other in a circle."""


class ProducerError(MovieAssetsError):
    """A producer returned something the runner cannot store (missing output, wrong type)."""


class InvalidPlugin(MovieAssetsError, TypeError):
    """An entry point of the `movie_assets.providers` group does not name a Provider."""


class UnknownProducer(MovieAssetsError, LookupError):
    """No producer implementation is registered for a job."""


# ---- safe text ------------------------------------------------------------------------------------

_SECRET_PATTERNS = None


def redact(text: str, secrets: object = ()) -> str:
    """`text` with every secret in `secrets` and anything shaped like a credential replaced by `***`:
    authorization schemes (`Bearer …`, `Token …`, `Key …`), API-key headers and fields, and the key
    formats of the providers (sk-…, r8_…). Applied to every error before it is logged, stored or printed:
    gateways and proxies echo request headers in their error bodies."""
    import re

    global _SECRET_PATTERNS
    if _SECRET_PATTERNS is None:
        _SECRET_PATTERNS = [
            (re.compile(r"(?i)\b(bearer|token|key|basic)(\s+)[A-Za-z0-9._~+/=:-]{12,}"), r"\1\2***"),
            (
                re.compile(
                    r"(?i)((?:x-|xi-)?(?:api[-_]?key|authorization|api[-_]?token)['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]{6,}"
                ),
                r"\1***",
            ),
            (re.compile(r"\b(sk|r8|fal)([-_])[A-Za-z0-9_-]{12,}"), r"\1\2***"),
        ]
    for value in secrets or ():
        if isinstance(value, str) and len(value) >= 6:
            text = text.replace(value, "***")
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
