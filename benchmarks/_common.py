"""Shared helpers for the benchmark scripts: timing medians, tables, machine line, synthetic graphs."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import yaml

from movie_assets.pipeline.blueprint import expand_graph
from movie_assets.pipeline.blueprint.load import load_blueprint
from movie_assets.pipeline.blueprint.schema import Blueprint
from movie_assets.pipeline.signature import signature_deps
from movie_assets.store.hashing import inputs_hash, json_hash, sha256_bytes
from movie_assets.store.models import ArtefactEntry, BlobRef, InputEntry, JobRecord, Manifest, RevisionId, utc_now

SYNTHETIC = """
meta: {id: synthetic, name: Synthetic chain per segment, version: "1"}
inputs:
  NumOfSegments: {type: int, default: 3, min: 1, max: 1000000}
  SegmentText: {type: string, loop: segment, default: ""}
loops:
  segment: {count: NumOfSegments}
producers:
  script:
    version: "1"
    loops: [segment]
    inputs: {text: {type: string}}
    outputs: {text: {mime_type: text/plain}}
  narration:
    version: "1"
    loops: [segment]
    inputs: {script: {type: text/plain}}
    outputs: {audio: {mime_type: audio/wav}}
  timeline:
    version: "1"
    inputs: {narrations: {type: audio/*, list: true}}
    outputs: {timeline: {mime_type: application/json}}
connections:
  - {from: "SegmentText[segment]", to: script.text}
  - {from: script.text, to: narration.script}
collectors:
  - {from: "narration[segment].audio", to: timeline.narrations}
"""


def chain_blueprint(stages: list[str]) -> Blueprint:
    """Per segment a chain of text `stages` (the first reads SegmentText[i]), and a timeline that
    collects the last stage of every segment: artefacts = len(stages) * segments + 1."""
    producers: dict = {}
    connections = [{"from": "SegmentText[segment]", "to": f"{stages[0]}.text"}]
    for i, stage in enumerate(stages):
        port = "text" if i == 0 else "source"
        producers[stage] = {
            "version": "1",
            "loops": ["segment"],
            "inputs": {port: {"type": "string" if i == 0 else "text/plain"}},
            "outputs": {"text": {"mime_type": "text/plain"}},
        }
        if i:
            connections.append({"from": f"{stages[i - 1]}.text", "to": f"{stage}.source"})
    producers["timeline"] = {
        "version": "1",
        "inputs": {"parts": {"type": "text/*", "list": True}},
        "outputs": {"timeline": {"mime_type": "text/plain"}},
    }
    doc = {
        "meta": {"id": f"chain-{len(stages)}", "version": "1"},
        "inputs": {
            "NumOfSegments": {"type": "int", "default": 3, "min": 1, "max": 1_000_000},
            "SegmentText": {"type": "string", "loop": "segment", "default": ""},
        },
        "loops": {"segment": {"count": "NumOfSegments"}},
        "producers": producers,
        "connections": connections,
        "collectors": [{"from": f"{stages[-1]}[segment].text", "to": "timeline.parts"}],
    }
    return load_blueprint(yaml.safe_dump(doc, sort_keys=False), name=doc["meta"]["id"])


def synthetic_blueprint() -> Blueprint:
    """Two artefacts per segment plus one fan-in timeline: artefacts = 2 * segments + 1."""
    return load_blueprint(SYNTHETIC, name="synthetic")


def synthetic_manifest(movie_id: str, blueprint: Blueprint, inputs: dict) -> Manifest:
    """A committed-looking manifest for the expanded graph, with made-up output hashes (no producer runs)."""
    graph = expand_graph(blueprint, inputs)
    entries = {k: InputEntry(value=v, hash=json_hash(v)) for k, v in graph.inputs.items()}
    input_hashes = {k: e.hash for k, e in entries.items()}
    artefact_hashes: dict[str, str] = {}
    jobs: dict[str, JobRecord] = {}
    artefacts: dict[str, ArtefactEntry] = {}
    for job_id in graph.topological_order():
        node = graph.nodes[job_id]
        deps = signature_deps(node, input_hashes, artefact_hashes)
        assert deps is not None
        signature = inputs_hash(node.producer, node.version, deps, node.indices)
        outputs = {}
        for output in node.outputs:
            ref = BlobRef(
                hash=sha256_bytes(f"{signature}/{output.artefact_id}".encode()), size=1, mime_type=output.mime_type
            )
            outputs[output.artefact_id] = ref
            artefact_hashes[output.artefact_id] = ref.hash
            artefacts[output.artefact_id] = ArtefactEntry(blob=ref, job_id=job_id, inputs_hash=signature)
        jobs[job_id] = JobRecord(
            job_id=job_id,
            producer=node.producer,
            producer_version=node.version,
            inputs_hash=signature,
            indices=node.indices,
            deps=deps,
            outputs=outputs,
        )
    return Manifest(
        movie_id=movie_id,
        revision=RevisionId.from_number(1),
        created_at=utc_now(),
        blueprint=blueprint.ref,
        inputs=entries,
        jobs=jobs,
        artefacts=artefacts,
    )


def timed(fn: Callable[[], object], repeat: int = 5) -> tuple[float, object]:
    """Median wall seconds over `repeat` calls, and the last result."""
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def size_parser(description: str | None, smoke: str = "tiny sizes (CI)") -> argparse.ArgumentParser:
    """The flags every benchmark takes: --quick (smaller sizes) and --smoke (tiny sizes: the script runs,
    its figures mean nothing; the suite runs every script so)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--smoke", action="store_true", help=smoke)
    return parser


def machine() -> str:
    cpus = os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    python = platform.python_version()
    return f"{platform.machine()}, {cpus} cores, {mem:.0f} GiB RAM, Python {python}, {platform.system()}"


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n## {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
