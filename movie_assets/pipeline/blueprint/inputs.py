"""Input values: keys (`Name`, `Name[i]`), type checks and resolution with defaults and loop counts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from movie_assets.errors import BlueprintError, InvalidValue
from movie_assets.pipeline.blueprint.schema import NAME, Blueprint, InputSpec
from movie_assets.pipeline.steering import MAX_VALUE_BYTES, MODEL, check_steering, is_steering, model_key
from movie_assets.store.hashing import canonical_json

_KEY = re.compile(rf"^(?P<name>{NAME})(?:\[(?P<index>\d+)\])?$")


def parse_input_key(key: str) -> tuple[str, int | None]:
    match = _KEY.match(key)
    if not match:
        raise InvalidValue(f"invalid input key {key!r} (expected Name or Name[index])")
    index = match.group("index")
    return match.group("name"), int(index) if index is not None else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# type -> (accepts the value?, what was expected); enum values are checked against the spec
_CHECKS = {
    "string": (lambda v: isinstance(v, str), "a string"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "int": (_is_int, "an integer"),
    "float": (_is_number, "a number"),
}


def _surely_small(value: Any) -> bool:
    """True when the value's canonical JSON cannot reach MAX_VALUE_BYTES, known without encoding it
    (a character is at most 6 bytes of JSON, a \\uXXXX escape): resolving 5,000 segment texts per plan
    skips 5,000 encodings."""
    if isinstance(value, str):
        return len(value) * 6 + 2 <= MAX_VALUE_BYTES
    return value is None or isinstance(value, bool | int | float)


def coerce_value(spec: InputSpec, value: Any) -> Any:
    """Check (and lightly coerce) a value against an input type; InvalidValue with the reason."""
    size = 0 if _surely_small(value) else len(canonical_json(value))
    if size > MAX_VALUE_BYTES:
        raise InvalidValue(
            f"a value of {size:,} bytes is over the {MAX_VALUE_BYTES:,}-byte limit for inputs (every revision "
            "keeps its inputs): give large material as an artefact instead"
        )
    if spec.type == "enum":
        if value not in (spec.values or []):
            raise InvalidValue(f"expected one of {spec.values}, got {value!r}")
        return value
    accepts, expected = _CHECKS[spec.type]
    if not accepts(value):
        raise InvalidValue(f"expected {expected}, got {value!r}")
    if spec.type == "float":
        value = float(value)
    if spec.type in ("int", "float"):
        if spec.min is not None and value < spec.min:
            raise InvalidValue(f"{value!r} is below the minimum {spec.min:g}")
        if spec.max is not None and value > spec.max:
            raise InvalidValue(f"{value!r} is above the maximum {spec.max:g}")
    return value


def normalise_edits(bp: Blueprint, edits: Mapping[str, Any]) -> dict[str, Any]:
    """Validate edits (by key) against the blueprint; list values of loop inputs expand to Name[i]."""
    out: dict[str, Any] = {}
    for items in normalise_each(bp, edits).values():
        out.update(items)
    return out


def normalise_each(bp: Blueprint, edits: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What each edit normalises to, by the edit's key (a loop input's list gives several keys); every
    problem is reported together in one BlueprintError."""
    each: dict[str, dict[str, Any]] = {}
    problems = []
    for key, value in edits.items():
        picked = _model_pick(bp, key)  # `script.model=gpt-4o-mini` picks a model choice
        try:
            each[key] = _normalise_one(bp, picked, value)
        except ValueError as exc:
            problems.append((f"inputs.{picked}", str(exc)))
    if problems:
        raise BlueprintError(problems, "inputs")
    return each


def _normalise_one(bp: Blueprint, key: str, value: Any) -> dict[str, Any]:
    if is_steering(key):  # pins, takes and model picks: checked by their own rules
        checked = check_steering(key, value)
        _check_pick(bp, key, checked)
        return {key: checked}
    name, index = parse_input_key(key)
    spec = bp.inputs.get(name)
    if spec is None:
        raise InvalidValue(f"unknown input {name!r}; known: {sorted(bp.inputs)}")
    if spec.loop and index is None:
        if not isinstance(value, list):
            raise InvalidValue(f"{name} runs in loop {spec.loop!r}: give a list or edit {name}[i]")
        return {f"{name}[{i}]": coerce_value(spec, item) for i, item in enumerate(value)}
    if not spec.loop and index is not None:
        raise InvalidValue(f"{name} is not a loop input; it has no index")
    # one spelling per key: SegmentText[01] is SegmentText[1]
    return {name if index is None else f"{name}[{index}]": coerce_value(spec, value)}


def _model_pick(bp: Blueprint, key: str) -> str:
    producer, dot, rest = key.partition(".")
    return model_key(producer) if dot and rest == "model" and producer in bp.producers else key


def _check_pick(bp: Blueprint, key: str, value: Any) -> None:
    if not key.startswith(MODEL) or value is None:
        return
    producer = bp.producers.get(key[len(MODEL) :])
    if producer is None:
        raise InvalidValue(f"no producer {key[len(MODEL) :]!r}; producers: {', '.join(bp.producers)}")
    if value not in producer.models:
        offered = ", ".join(producer.models) or "none (it has a single fixed model)"
        raise InvalidValue(f"unknown model choice {value!r}; choose one of: {offered}")


def resolve_inputs(bp: Blueprint, raw: Mapping[str, Any], normalised: bool = False) -> dict[str, Any]:
    """Expanded input values the graph uses: explicit values, then defaults; missing required is an error.
    `normalised`: `raw` went through normalise_edits for this blueprint already."""
    values = raw if normalised else normalise_edits(bp, raw)
    resolved: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, spec in bp.inputs.items():
        if not spec.loop:
            _resolve_one(name, spec, values, resolved, problems)
    counts = {name: resolved.get(loop.count) for name, loop in bp.loops.items()}
    for name, spec in bp.inputs.items():
        count = counts.get(spec.loop) if spec.loop else None
        for i in range(count if isinstance(count, int) else 0):
            _resolve_one(f"{name}[{i}]", spec, values, resolved, problems)
    if problems:
        raise BlueprintError(problems, "inputs")
    return resolved


def _resolve_one(
    key: str, spec: InputSpec, values: Mapping[str, Any], resolved: dict[str, Any], problems: list[tuple[str, str]]
) -> None:
    if key in values:
        resolved[key] = values[key]
    elif spec.default is not None:
        resolved[key] = coerce_value(spec, spec.default)
    elif spec.required:
        problems.append((f"inputs.{key}", "missing required input"))


def loop_counts(bp: Blueprint, resolved: Mapping[str, Any]) -> dict[str, int]:
    """How many times each loop runs, from resolved input values."""
    counts = {}
    for name, loop in bp.loops.items():
        count = resolved.get(loop.count)
        counts[name] = count if isinstance(count, int) else 0
    return counts


def check_loop_indices(bp: Blueprint, values: Mapping[str, Any], counts: Mapping[str, int]) -> None:
    """Refuse edits of loop instances that do not exist (an edit that could never take effect)."""
    problems = []
    for key in values:
        if is_steering(key):
            continue
        name, index = parse_input_key(key)
        spec = bp.inputs[name]
        if spec.loop and index is not None and index >= counts.get(spec.loop, 0):
            count_input = bp.loops[spec.loop].count
            have = counts.get(spec.loop, 0)
            problems.append(
                (
                    f"inputs.{key}",
                    f"{spec.loop} {index} does not exist: {count_input} is {have} (indices 0-{have - 1}); "
                    f"raise {count_input} in the same edit to add it",
                )
            )
    if problems:
        raise BlueprintError(problems, "inputs")


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def values_from_text(bp: Blueprint, texts: Mapping[str, str]) -> dict[str, Any]:
    """Values typed on a command line (`KEY=VALUE`), read as what they look like for each input: a
    string or enum input takes the text as typed (a date, `NO`, `12:30`, `0x1F` stay strings); an int,
    float or bool input parses it; YAML only for a whole loop input given as a list (`[a, b]`) or a
    value in quotes. Text that is not valid UTF-8 is refused."""
    out = {}
    for key, text in texts.items():
        if any("\udc80" <= ch <= "\udcff" for ch in text):  # how Python keeps undecodable argv bytes
            raise InvalidValue(f"{key}: the value is not valid UTF-8 text")
        out[key] = _from_text(bp, key, text)
    return out


def _from_text(bp: Blueprint, key: str, text: str) -> Any:
    stripped = text.strip()
    quoted = len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\""
    try:
        name, index = parse_input_key(key)
    except InvalidValue:
        name, index = key, None
    spec = bp.inputs.get(name)
    if quoted or (spec is not None and spec.loop and index is None and stripped.startswith("[")):
        from movie_assets.pipeline.safe_yaml import load_yaml

        return load_yaml(stripped, key)
    return text if spec is None else _typed(spec.type, stripped, text)


def _typed(kind: str, stripped: str, text: str) -> Any:
    """`text` read as an input of type `kind`; as typed when it does not read (the type check then
    names what was expected)."""
    try:
        if kind == "int":
            return int(stripped, 10)
        if kind == "float":
            number = float(stripped)
            return number if number == number and abs(number) != float("inf") else text
    except ValueError:
        return text
    if kind == "bool":
        lowered = stripped.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    return text
