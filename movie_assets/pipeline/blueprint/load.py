"""Reading blueprints: YAML text or files, and the ones shipped in the package."""

from __future__ import annotations

import difflib
import importlib.resources
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import ValidationError

from movie_assets.errors import BlueprintError
from movie_assets.pipeline.blueprint.schema import Blueprint
from movie_assets.pipeline.blueprint.validate import validate_blueprint


def load_blueprint(source: str | Path, name: str | None = None) -> Blueprint:
    """Parse and validate a blueprint from YAML text or a file path."""
    if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml"))
    ):
        path = Path(source)
        return load_blueprint(path.read_text(encoding="utf-8"), name=str(path))
    where = name or "blueprint"
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise BlueprintError([("<document>", f"not valid YAML: {exc}")], where) from None
    if not isinstance(data, dict):
        raise BlueprintError([("<document>", "a blueprint is a YAML mapping")], where)
    try:
        blueprint = Blueprint.model_validate(data)
    except ValidationError as exc:
        problems = [(".".join(str(p) for p in err["loc"]) or "<document>", err["msg"]) for err in exc.errors()]
        raise BlueprintError(problems, where) from None
    validate_blueprint(blueprint, where)
    return blueprint


def builtin_blueprints() -> list[str]:
    """Names of the blueprints shipped in the package."""
    files = importlib.resources.files("movie_assets.blueprints")
    return sorted(p.name[: -len(".yaml")] for p in files.iterdir() if p.name.endswith(".yaml"))


def _unknown(name: str) -> str:
    """`no shipped blueprint 'audio-onyl' (did you mean audio-only?); known: ...`"""
    known = builtin_blueprints()
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"no shipped blueprint {name!r}{hint}; known: {', '.join(known)}"


def load_builtin(name: str) -> Blueprint:
    """A blueprint shipped in the package, by name."""
    if name not in builtin_blueprints():
        raise BlueprintError([("<name>", _unknown(name))], name)
    text = importlib.resources.files("movie_assets.blueprints").joinpath(f"{name}.yaml").read_text("utf-8")
    return load_blueprint(text, name=f"{name}.yaml")


def resolve_blueprint(name_or_path: str, registered: Mapping[str, bytes] | None = None) -> Blueprint:
    """A shipped blueprint by name, one registered under the storage root, or a YAML file by path."""
    if name_or_path in builtin_blueprints():
        return load_builtin(name_or_path)
    if registered and name_or_path in registered:
        try:
            text = registered[name_or_path].decode("utf-8")
        except UnicodeDecodeError:
            raise BlueprintError([("<document>", "not UTF-8 text")], name_or_path) from None
        return load_blueprint(text, name=f".blueprints/{name_or_path}.yaml")
    path = Path(name_or_path)
    if not path.is_file():
        message = _unknown(name_or_path) + "; nor is it a YAML file"
        raise BlueprintError([("<name>", message)], name_or_path)
    return load_blueprint(path)
