"""Expanded graphs kept on disk (`index/graphs/<shape>.msgpack`), so a fresh process does not expand again.

Expanding a 10,000-job blueprint costs about a third of a second; decoding the stored graph with msgspec
a fraction of that. The file is derived data, named by the hash of everything expansion depends on
(the blueprint, the loop counts, the model picks, which inputs exist: see expand_graph), written
create-only when a revision of that shape is committed, and ignored with a warning when it cannot be
read. Deleting `index/` loses nothing but time.
"""

from __future__ import annotations

import contextlib
import logging

import msgspec

from movie_assets.errors import NotFound, StorageError
from movie_assets.pipeline.blueprint.graph import ProducerGraph, ProducerNode
from movie_assets.store.hashing import json_hash
from movie_assets.store.storage import MovieFS

log = logging.getLogger(__name__)

GRAPHS_DIR = "index/graphs"
FORMAT = 1  # bump whenever expansion changes what a node holds: older files are then never read


class _Stored(msgspec.Struct):
    format: int
    order: list[str]
    nodes: list[ProducerNode]


_DECODER = msgspec.msgpack.Decoder(_Stored)
_ENCODER = msgspec.msgpack.Encoder()


def shape_digest(shape: tuple) -> str:
    """The file name of a graph shape (expand_graph's shape tuple)."""
    blueprint_hash, counts, picks, keys = shape
    return json_hash([FORMAT, blueprint_hash, [list(c) for c in counts], [list(p) for p in picks], sorted(keys)])


class DiskGraphIndex:
    """The expanded graphs of one movie, under its `index/graphs/`."""

    def __init__(self, fs: MovieFS) -> None:
        self.fs = fs

    def path(self, shape: tuple) -> str:
        return f"{GRAPHS_DIR}/{shape_digest(shape)}.msgpack"

    def load(self, shape: tuple) -> tuple[dict[str, ProducerNode], list[str]] | None:
        """The stored graph of this shape, or None (absent, unreadable, or written by another format)."""
        rel = self.path(shape)
        try:
            stored = _DECODER.decode(self.fs.read(rel))
        except NotFound:
            return None
        except (StorageError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("%s/%s: ignoring the stored graph (%s); expanding instead", self.fs.movie_id, rel, exc)
            return None
        nodes = {node.job_id: node for node in stored.nodes}
        if stored.format != FORMAT or len(nodes) != len(stored.order) or set(nodes) != set(stored.order):
            log.warning("%s/%s: ignoring a stored graph that does not hold together", self.fs.movie_id, rel)
            return None
        return nodes, stored.order

    def save(self, graph: ProducerGraph) -> bool:
        """Store the graph once per shape (create-only); False when it was there already."""
        if graph.shape is None or self.fs.exists(self.path(graph.shape)):
            return False  # every commit of an unchanged shape lands here: no 3 MB encoding for nothing
        data = _ENCODER.encode(_Stored(FORMAT, graph.topological_order(), list(graph.nodes.values())))
        return self.fs.write_if_absent(self.path(graph.shape), data)

    def prune(self, keep: tuple) -> int:
        """Delete the stored graphs of every shape but `keep` (the live revision's); how many went.

        Each is a cache of a shape no revision is live at, up to megabytes each: a later plan of that
        shape expands again, which costs only time."""
        removed = 0
        kept = self.path(keep)
        for rel in self.fs.list(GRAPHS_DIR, ordered=False):
            if rel != kept and rel.endswith(".msgpack"):
                with contextlib.suppress(NotFound):  # another commit pruned it first
                    self.fs.delete(rel)
                    removed += 1
        return removed
