"""StorageConfig: which driver, which root, which driver options; parsed from a URL."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from movie_assets.errors import InvalidValue

IO_THREADS = 8  # the default of the io_threads setting (MOVIE_ASSETS_IO_THREADS)

# URL scheme -> driver (a plain path is local)
_SCHEMES = {"file": "local", "memory": "memory", "s3": "s3"}


class StorageConfig(BaseModel):
    """Where movies live: `driver` in local|memory|s3, `root` a path or URL, driver `options`."""

    model_config = ConfigDict(extra="forbid")

    driver: Literal["local", "memory", "s3"] = "local"
    root: str = "builds"
    options: dict[str, object] = {}

    @classmethod
    def from_url(cls, url: str, **options: object) -> StorageConfig:
        """`memory://name`, `s3://bucket/prefix`, `file:///abs` or a plain path."""
        match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
        if match and match.group(1) not in _SCHEMES:
            raise InvalidValue(f"unsupported storage URL {url!r}: use a path, file://, memory:// or s3://bucket/prefix")
        driver = _SCHEMES[match.group(1)] if match else "local"
        root = url[len("file://") :] if driver == "local" and match else url
        if not root or "\x00" in root:
            raise InvalidValue(f"invalid storage root {url!r}")
        return cls(driver=driver, root=root, options=dict(options))


def whole_option(options: dict[str, Any], name: str, default: int) -> int:
    """A driver option that must be a whole number, or InvalidValue naming it."""
    value = options.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"storage option {name}: {value!r} is not a whole number") from None
    if number < 0:
        raise InvalidValue(f"storage option {name}: {value!r} is negative")
    return number


def is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)
