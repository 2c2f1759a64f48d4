"""A blueprint's producer-level shape: which producers loop, what each reads, what kinds it makes.

Faces that show a blueprint as code (Dagster: one asset per producer) need this without expanding any
movie's inputs, so it is read from the connections alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from movie_assets.pipeline.blueprint.schema import Blueprint, parse_ref


@dataclass(frozen=True)
class ProducerShape:
    """One producer of a blueprint: its outermost loop (None = once per movie) and its neighbours."""

    name: str
    loop: str | None
    upstream: frozenset[str]
    inputs: frozenset[str]
    kinds: frozenset[str]


def kind_of(mime_type: str) -> str:
    """A short media kind for a mime type: image, audio, video, text or json."""
    major, _, minor = mime_type.partition("/")
    if major in ("image", "audio", "video", "text"):
        return major
    return "json" if minor == "json" or minor.endswith("+json") else "file"


def blueprint_shape(bp: Blueprint) -> dict[str, ProducerShape]:
    """Every producer of `bp`, in declaration order, with its upstream producers and inputs."""
    upstream: dict[str, set[str]] = {name: set() for name in bp.producers}
    inputs: dict[str, set[str]] = {name: set() for name in bp.producers}
    for conn in [*bp.connections, *bp.collectors]:
        src, dst = parse_ref(conn.from_), parse_ref(conn.to)
        if src is None or dst is None or dst.node not in bp.producers:
            continue  # validate_blueprint already refused these
        if src.node in bp.producers:
            upstream[dst.node].add(src.node)
        elif src.node in bp.inputs:
            inputs[dst.node].add(src.node)
    return {
        name: ProducerShape(
            name=name,
            loop=spec.loops[0] if spec.loops else None,
            upstream=frozenset(upstream[name]),
            inputs=frozenset(inputs[name]),
            kinds=frozenset(kind_of(o.mime_type) for o in spec.outputs.values()),
        )
        for name, spec in bp.producers.items()
    }


def sinks(shape: dict[str, ProducerShape]) -> list[str]:
    """Producers nothing else reads: what the whole movie's revision waits for."""
    read = {u for s in shape.values() for u in s.upstream}
    return [name for name in shape if name not in read]


def asset_group(blueprint_id: str) -> str:
    """The Dagster asset group of a blueprint: `video-audio-music` becomes `video_audio_music`."""
    return re.sub(r"[^A-Za-z0-9_]", "_", blueprint_id)
