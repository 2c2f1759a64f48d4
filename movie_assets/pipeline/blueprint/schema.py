"""Blueprints: a YAML description of a movie's inputs, loops and producers, expanded into a ProducerGraph.

```yaml
meta: {id: audio-only, name: Audio only, version: "1"}
inputs:
  Title: {type: string, required: true}
  NumOfSegments: {type: int, default: 3, min: 1}
  SegmentText: {type: string, loop: segment, default: ""}
loops:
  segment: {count: NumOfSegments}
producers:
  script:
    version: "1"
    loops: [segment]
    inputs: {title: {type: string}, text: {type: string}}
    outputs: {text: {mime_type: text/plain}}
connections:
  - {from: Title, to: script.title}
  - {from: "SegmentText[segment]", to: "script[segment].text"}
collectors:
  - {from: narration.audio, to: timeline.narrations}
```
A connection's source loops must be a subset of its target's loops (same index); a collector gathers the
source's extra loops into a list, ordered by index.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from movie_assets.store.hashing import json_hash
from movie_assets.store.models import BlueprintRef

ScalarType = Literal["string", "int", "float", "bool", "enum"]
TIMELINE_MIME = "application/vnd.movie-assets.timeline+json"
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REF = re.compile(rf"^(?P<node>{NAME})(?:\[(?P<idx>[A-Za-z_,\s]*)\])?(?:\.(?P<port>{NAME})(?:\[(?P<item>{NAME})\])?)?$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Meta(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = ""
    version: str = "1"
    description: str = ""


class InputSpec(_Model):
    type: ScalarType
    required: bool = False
    default: Any = None
    values: list[str] | None = None
    loop: str | None = None
    min: float | None = None
    max: float | None = None
    description: str = ""


class LoopSpec(_Model):
    count: str
    description: str = ""


class PortSpec(_Model):
    type: str = "any"  # a scalar type name, a mime pattern (audio/*), or any
    list: bool = False
    optional: bool = False


class OutputDecl(_Model):
    mime_type: str
    prompt_file: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]*$")
    array: str | None = None  # a loop: one item per index (`Name[i]`), made by one job that does not loop


class PromptSpec(_Model):
    """A prompt template: `{{Name}}` placeholders name the producer's input ports.

    Written in a TOML prompt file (`variables`, `systemPrompt`, `userPrompt`) beside the blueprint;
    the loader copies the text in, so a movie's stored blueprint never depends on the file."""

    file: str | None = None
    variables: list[str] = []
    system: str = ""
    user: str = ""

    def text_hash(self) -> str:
        return json_hash({"variables": self.variables, "system": self.system, "user": self.user})


class ModelChoice(_Model):
    """One way to run a producer: which provider and model, and the model's own parameters."""

    provider: str = "offline"
    model: str | None = None
    implementation: str | None = None
    params: dict[str, Any] = {}


class ProducerSpec(_Model):
    version: str
    use: str | None = None  # the producer module (YAML beside the blueprint) this one was made from
    loops: list[str] = []
    implementation: str | None = None
    provider: str = "offline"
    model: str | None = None
    description: str = ""
    params: dict[str, Any] = {}
    inputs: dict[str, PortSpec] = {}
    outputs: dict[str, OutputDecl]
    prompt: PromptSpec | None = None
    models: dict[str, ModelChoice] = {}  # model choices by id
    model_choice: str | None = None  # the blueprint's pick among `models` (default: the first)

    def choice(self, picked: str | None = None) -> tuple[str | None, ModelChoice | None]:
        """(id, choice) of the model choice in force: the picked one, the blueprint's, else the first."""
        if not self.models:
            return None, None
        key = picked or self.model_choice or next(iter(self.models))
        return key, self.models.get(key)


class Connection(_Model):
    from_: str = Field(alias="from")
    to: str


class Blueprint(_Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    meta: Meta
    inputs: dict[str, InputSpec] = {}
    loops: dict[str, LoopSpec] = {}
    producers: dict[str, ProducerSpec]
    connections: list[Connection] = []
    collectors: list[Connection] = []

    @functools.cached_property
    def hash(self) -> str:
        """The content hash (computed once: the model is frozen)."""
        return json_hash(self.model_dump(mode="json", by_alias=True))

    @property
    def ref(self) -> BlueprintRef:
        return BlueprintRef(id=self.meta.id, version=self.meta.version, hash=self.hash)

    def to_yaml(self) -> str:
        import yaml  # only writing a blueprint needs it: `status` reads the stored one's JSON copy

        return yaml.safe_dump(self.model_dump(mode="json", by_alias=True, exclude_defaults=True), sort_keys=False)


@dataclass(frozen=True)
class Ref:
    node: str
    indices: tuple[str, ...] | None
    port: str | None
    item: str | None = None  # the loop indexing an array output: `story.NarrationScript[segment]`


def parse_ref(text: str) -> Ref | None:
    """`node`, `node[loops]`, `node.port` or `node[loops].port`; None if malformed."""
    match = _REF.match(text.strip())
    if not match:
        return None
    idx = match.group("idx")
    indices = tuple(i.strip() for i in idx.split(",") if i.strip()) if idx is not None else None
    return Ref(match.group("node"), indices, match.group("port"), match.group("item"))
