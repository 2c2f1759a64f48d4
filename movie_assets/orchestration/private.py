"""Dagster internals this face needs, in one place, for the pinned dagster==1.13.27.

Why each: runless materialisations that mirror commits made outside Dagster must carry the same
data-version tags Dagster writes itself (code version, data version, input versions and event
pointers), or staleness would be computed against nothing. A Dagster
upgrade checks these names first (the orchestration tests import this module).
"""

from dagster._core.definitions.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_IS_USER_PROVIDED_TAG,
    DATA_VERSION_TAG,
    INPUT_DATA_VERSION_TAG_PREFIX,
    INPUT_EVENT_POINTER_TAG_PREFIX,
)

__all__ = [
    "CODE_VERSION_TAG",
    "DATA_VERSION_IS_USER_PROVIDED_TAG",
    "DATA_VERSION_TAG",
    "INPUT_DATA_VERSION_TAG_PREFIX",
    "INPUT_EVENT_POINTER_TAG_PREFIX",
]
