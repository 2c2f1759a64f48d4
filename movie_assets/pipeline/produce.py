"""The producer contract: what a producer is handed (ProduceRequest) and what it returns (ProduceResult)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from movie_assets.errors import ProducerError
from movie_assets.pipeline.models import JobDescriptor
from movie_assets.store.models import BlobRef

__all__ = ["ProduceFn", "ProduceInput", "ProduceRequest", "ProduceResult", "ProducerError", "indices_of"]

_LABEL = re.compile(r"^([a-z][a-z0-9_]*)-(\d{4,})$")


@dataclass(frozen=True)
class ProduceInput:
    """One value handed to a producer: an input's value or an upstream artefact's blob."""

    kind: str
    id: str
    value: Any = None
    blob: BlobRef | None = None
    indices: dict[str, int] = field(default_factory=dict)


_PLACEHOLDER = re.compile(r"{{\s*([A-Za-z_][A-Za-z0-9_]*)\s*}}")


@dataclass
class ProduceRequest:
    """What a producer gets: its job, its named inputs (lists for collectors) and a blob loader."""

    movie_id: str
    revision: str
    job: JobDescriptor
    inputs: dict[str, ProduceInput | list[ProduceInput]]
    load: Callable[[BlobRef], bytes]
    scratch: str | None = None  # a local folder for temporary files, inside the movie's own area when it has one
    cache: Any = None  # the producer's DerivedFolder (get, put, retain) for intermediate results, if any

    def value(self, port: str, default: Any = None) -> Any:
        """An input's value, or an artefact's bytes decoded as UTF-8 text."""
        item = self.inputs.get(port)
        if item is None:
            return default
        assert not isinstance(item, list), f"{port} is a collected list"
        return item.value if item.kind == "input" else self.load(item.blob).decode("utf-8")  # type: ignore[arg-type]

    def artefact_blobs(self) -> list[BlobRef]:
        """The stored blobs among the inputs (upstream artefacts and pins), every port's."""
        items = [i for value in self.inputs.values() for i in (value if isinstance(value, list) else [value])]
        return [item.blob for item in items if item.kind == "artefact" and item.blob is not None]

    def items(self, port: str) -> list[ProduceInput]:
        item = self.inputs.get(port, [])
        return item if isinstance(item, list) else [item]

    def prompt(self) -> tuple[str, str] | None:
        """(system, user) of the producer's prompt template with `{{Port}}` filled in, or None."""
        template = self.job.params.get("prompt")
        if not template:
            return None

        def fill(text: str) -> str:
            def one(match: re.Match) -> str:
                value = self.value(match.group(1))
                return "" if value is None else str(value)

            return _PLACEHOLDER.sub(one, text).strip()

        return fill(template.get("system", "")), fill(template.get("user", ""))


@dataclass
class ProduceResult:
    outputs: dict[str, Any]  # bytes, or a readable binary file the recorder streams into the store
    cost: float = 0.0
    diagnostics: dict[str, Any] = field(default_factory=dict)


ProduceFn = Callable[[ProduceRequest], ProduceResult]


def indices_of(artefact_id: str) -> dict[str, int]:
    """Loop indices encoded in an artefact id's path (`segment-0002/...` -> {segment: 2})."""
    out = {}
    for part in artefact_id.split("/"):
        if match := _LABEL.match(part):
            out[match.group(1)] = int(match.group(2))
    return out
