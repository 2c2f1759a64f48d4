"""Reading blueprints: YAML text or files, and the ones shipped in the package."""

from __future__ import annotations

import difflib
import importlib.resources
import os
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import ValidationError

from movie_assets.errors import BlueprintError, InvalidValue
from movie_assets.pipeline.blueprint.schema import Blueprint
from movie_assets.pipeline.blueprint.validate import validate_blueprint
from movie_assets.pipeline.safe_yaml import YamlError, load_yaml
from movie_assets.store.cache import BoundedCache
from movie_assets.store.files import read_regular

MAX_BLUEPRINT_BYTES = 4 * 1024 * 1024  # a blueprint, a module or a prompt file: text a person writes


_STORED: BoundedCache[Blueprint] = BoundedCache(32)  # by the stored file's bytes; Blueprints are frozen
_BY_HASH: BoundedCache[Blueprint] = BoundedCache(32)  # the same, by their content hash (see parsed_blueprint)


def stored_blueprint(raw: bytes, where: str) -> Blueprint:
    """A movie's stored blueprint file parsed, once per process per content: a stored blueprint is
    self-contained, so its bytes alone decide what it parses to."""
    found = _STORED.get(raw)
    if found is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BlueprintError([("<document>", "not UTF-8 text")], where) from None
        found = load_blueprint(text, name=where)
        _STORED.put(raw, found)
        _BY_HASH.put(found.hash, found)
    return found


def parsed_blueprint(blueprint_hash: str) -> Blueprint | None:
    """A stored blueprint this process parsed, by its content hash (a manifest names its own)."""
    return _BY_HASH.get(blueprint_hash)


def load_blueprint(source: str | Path, name: str | None = None, base: Traversable | Path | None = None) -> Blueprint:
    """Parse and validate a blueprint from YAML text or a file path.

    Producer modules (`use: modules/x.yaml`) and prompt files (`prompt: {file: prompts/x.toml}`) are
    read relative to `base` (a file's folder by default) and copied in, so the result is
    self-contained: the copy a movie stores needs neither file again."""
    if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml"))
    ):
        path = Path(source)
        try:
            text = read_regular(path, MAX_BLUEPRINT_BYTES).decode("utf-8")
        except (InvalidValue, UnicodeDecodeError) as exc:
            raise BlueprintError(
                [("<file>", str(exc) if isinstance(exc, InvalidValue) else "not UTF-8 text")], str(path)
            ) from None
        return load_blueprint(text, name=str(path), base=base or path.parent)
    where = name or "blueprint"
    data = _yaml_mapping(source, where)
    producers = data.get("producers")
    for key, entry in (producers if isinstance(producers, dict) else {}).items():
        # a stored copy already carries its module's content; `use` then only records where it came from
        if isinstance(entry, dict) and entry.get("use") and "outputs" not in entry:
            data["producers"][key] = _with_module(entry, base, f"{where}: producers.{key}.use")
    try:
        blueprint = Blueprint.model_validate(data)
    except ValidationError as exc:
        problems = [(".".join(str(p) for p in err["loc"]) or "<document>", err["msg"]) for err in exc.errors()]
        raise BlueprintError(problems, where) from None
    blueprint = _with_prompts(blueprint, base, where)
    validate_blueprint(blueprint, where)
    return blueprint


def _yaml_mapping(text: str, where: str) -> dict:
    try:
        data = load_yaml(text, "the document")
    except YamlError as exc:
        raise BlueprintError([("<document>", str(exc).removeprefix("the document: "))], where) from None
    if not isinstance(data, dict):
        raise BlueprintError([("<document>", "a blueprint is a YAML mapping")], where)
    return data


def _read_beside(base: Traversable | Path | None, relative: str, where: str) -> str:
    if base is None:
        raise BlueprintError([("<file>", f"{relative} is relative to the blueprint's folder, which is unknown")], where)
    if relative.startswith("/") or ".." in relative.replace("\\", "/").split("/"):
        raise BlueprintError([("<file>", f"{relative}: give a path inside the blueprint's folder")], where)
    try:
        if isinstance(base, Path):  # a user's folder: no link anywhere on the way (a linked prompts/ too)
            target = base / relative
            if os.path.realpath(target.parent) != os.path.join(os.path.realpath(base), *Path(relative).parts[:-1]):
                raise InvalidValue(f"{relative}: a folder on its way is a symbolic link")
            return read_regular(target, MAX_BLUEPRINT_BYTES).decode("utf-8")
        return base.joinpath(relative).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, InvalidValue) as exc:
        raise BlueprintError([("<file>", f"cannot read {relative}: {exc}")], where) from None


def _with_module(entry: dict, base: Traversable | Path | None, where: str) -> dict:
    """A producer entry on top of the module it `use`s: the entry's own keys win."""
    module = _yaml_mapping(_read_beside(base, entry["use"], where), f"{where} ({entry['use']})")
    return {**module, **entry}


def _with_prompts(bp: Blueprint, base: Traversable | Path | None, where: str) -> Blueprint:
    """Copy each prompt file's text into its producer (TOML: variables, systemPrompt, userPrompt)."""
    changed = {}
    for name, spec in bp.producers.items():
        prompt = spec.prompt
        if prompt is None or prompt.file is None or prompt.system or prompt.user:
            continue
        at = f"{where}: producers.{name}.prompt.file"
        import tomllib  # only a prompt file needs it

        try:
            doc = tomllib.loads(_read_beside(base, prompt.file, at))
        except tomllib.TOMLDecodeError as exc:
            raise BlueprintError([("<file>", f"{prompt.file} is not valid TOML: {exc}")], at) from None
        text = prompt.model_copy(
            update={
                "variables": list(doc.get("variables", [])),
                "system": str(doc.get("systemPrompt", "")),
                "user": str(doc.get("userPrompt", "")),
            }
        )
        changed[name] = spec.model_copy(update={"prompt": text})
    return bp.model_copy(update={"producers": {**bp.producers, **changed}}) if changed else bp


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
    folder = importlib.resources.files("movie_assets.blueprints")
    return load_blueprint(folder.joinpath(f"{name}.yaml").read_text("utf-8"), name=f"{name}.yaml", base=folder)


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
