"""A movie's stored blueprint, read back without YAML.

The movie keeps its blueprint as `blueprint.yaml`, which people read. Beside it, under
`index/blueprints/<sha256 of that file>.json`, the same blueprint is kept as pydantic's JSON, written
whenever the YAML is (init, a new blueprint, each commit for movies made before). A command that only
reads a movie (`status`) then validates the JSON copy, exactly as it would the YAML's data, and never
imports PyYAML: ~20 ms of a ~0.3 s command. The copy is derived data, named by the bytes it stands for:
a missing one is not an error, and one that does not validate is ignored with a warning.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from movie_assets.errors import BlueprintError, NotFound, StorageError
from movie_assets.pipeline.blueprint.schema import Blueprint
from movie_assets.pipeline.blueprint.validate import validate_blueprint
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.storage import MovieFS

log = logging.getLogger(__name__)

JSON_COPIES = "index/blueprints"


def json_copy_path(raw: bytes) -> str:
    """Where the JSON copy of the blueprint stored as `raw` lives."""
    return f"{JSON_COPIES}/{sha256_bytes(raw)}.json"


def load_json_copy(fs: MovieFS, raw: bytes, where: str) -> Blueprint | None:
    """The blueprint stored as `raw`, from its JSON copy and validated like any blueprint; None when there
    is no copy or it does not hold (the caller then parses the YAML)."""
    try:
        data = fs.read(json_copy_path(raw))
    except (NotFound, StorageError):
        return None
    try:
        blueprint = Blueprint.model_validate_json(data)
        validate_blueprint(blueprint, where)
    except (ValidationError, BlueprintError) as exc:
        log.warning("%s: ignoring its JSON copy %s, which does not hold: %s", where, json_copy_path(raw), exc)
        return None
    return blueprint


def save_json_copy(fs: MovieFS, raw: bytes, blueprint: Blueprint) -> None:
    """Keep `blueprint` (parsed from `raw`) as JSON for the next process; create-only, best effort."""
    path = json_copy_path(raw)
    try:
        if not fs.exists(path):  # each commit asks: a check, not a staged write that finds it there
            fs.write_if_absent(path, blueprint.model_dump_json(by_alias=True).encode("utf-8"))
    except StorageError as exc:  # a read-only root, a full disk: the YAML is still there
        log.warning("%s: could not keep the blueprint's JSON copy: %s", fs.movie_id, exc)
