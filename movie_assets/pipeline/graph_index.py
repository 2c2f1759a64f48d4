"""Expanded graphs kept on disk (`index/graphs/<shape>.msgpack`), so a fresh process does not expand again,
and the live manifest's baseline (`index/baselines/<manifest hash>-<format>.msgpack`), so it does not compare
every job with the manifest again (see incremental.py).

Expanding a 10,000-job blueprint costs about a third of a second; reading the stored graph a fraction of
that, and its nodes are decoded only when a plan reads them (see LazyNodes). Noting which jobs a
manifest records as the graph describes them costs a fifth of a second at that size; the answer is
usually an empty list. Both files are derived data: a graph is named by the hash of everything
expansion depends on (the blueprint, the loop counts, the model picks, which inputs exist: see
expand_graph), a baseline by the manifest's hash and holding its graph's shape. Both are derived files
(store/derived.py): written create-only when a revision is committed, checked when read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

import msgspec

from movie_assets.pipeline.blueprint.graph import Expansion, ProducerGraph, ProducerNode
from movie_assets.store.cache import BoundedCache
from movie_assets.store.derived import prune_derived, read_derived, write_derived
from movie_assets.store.hashing import json_hash
from movie_assets.store.parallel import each, threads_for
from movie_assets.store.storage import MovieFS

log = logging.getLogger(__name__)

GRAPHS_DIR = "index/graphs"
BASELINES_DIR = "index/baselines"
FORMAT = 5  # bump whenever expansion changes what a file holds: older files are then never read


class _Stored(msgspec.Struct):
    order: list[str]
    ids: list[str]  # the job id of each node, in the graph's own order
    nodes: list[msgspec.Raw]  # each node encoded on its own, decoded when first asked for
    readers: dict[str, list[str]]
    dependents: dict[str, list[str]]


class LazyNodes(Mapping[str, ProducerNode]):
    """A stored graph's nodes, each decoded the first time it is asked for. A fresh process's plan after
    one edit reads a handful of 10,000 nodes; decoding them all was a sixth of its time."""

    def __init__(self, raw: dict[str, msgspec.Raw]) -> None:
        self._raw = raw
        self._decoded: dict[str, ProducerNode] = {}

    def __getitem__(self, job_id: str) -> ProducerNode:
        node = self._decoded.get(job_id)
        if node is None:
            node = self._decoded[job_id] = _NODE_DECODER.decode(self._raw[job_id])
        return node

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._raw


class _StoredBaseline(msgspec.Struct):
    shape: str  # shape_digest of the graph it was noted against
    unmatched: list[str]


_DECODER = msgspec.msgpack.Decoder(_Stored)
_NODE_DECODER = msgspec.msgpack.Decoder(ProducerNode)
_BASELINE_DECODER = msgspec.msgpack.Decoder(_StoredBaseline)
_ENCODER = msgspec.msgpack.Encoder()


def shape_digest(shape: tuple) -> str:
    """The file name of a graph shape (expand_graph's shape tuple)."""
    blueprint_hash, counts, picks, keys = shape
    return json_hash([FORMAT, blueprint_hash, [list(c) for c in counts], [list(p) for p in picks], sorted(keys)])


# graphs this process read or wrote, by root: a commit of an unchanged shape need not ask whether its
# graph is stored (another process's prune may have taken it: a later fresh plan then expands again)
_STORED: BoundedCache[frozenset[str]] = BoundedCache(16)


class DiskGraphIndex:
    """The expanded graphs of one movie, under its `index/graphs/`."""

    def __init__(self, fs: MovieFS) -> None:
        self.fs = fs
        self._ahead: tuple[str, _StoredBaseline | None] | None = None  # see read_ahead
        self._root = (fs.backend.identity, fs.base)

    def path(self, shape: tuple) -> str:
        return f"{GRAPHS_DIR}/{shape_digest(shape)}.msgpack"

    def load(self, shape: tuple) -> Expansion | None:
        """The stored graph of this shape, or None (absent, unreadable, or written by another format)."""
        stored = self._read(self.path(shape), _DECODER)
        if stored is None:
            return None
        self._known_stored(self.path(shape))
        raw = dict(zip(stored.ids, stored.nodes, strict=False))
        if len(stored.ids) != len(stored.nodes) or len(raw) != len(stored.nodes) or raw.keys() != set(stored.order):
            # ids and nodes unpaired, repeated, or not the order's
            log.warning("%s/%s: ignoring a stored graph that does not hold", self.fs.movie_id, self.path(shape))
            return None
        return Expansion(LazyNodes(raw), stored.order, stored.readers, stored.dependents)

    def save(self, graph: ProducerGraph) -> bool:
        """Store the graph once per shape (create-only); False when it was there already."""
        path = None if graph.shape is None else self.path(graph.shape)
        if path is None or path in self._stored() or self.fs.exists(path):
            return False  # every commit of an unchanged shape lands here: no 3 MB encoding for nothing
        readers, dependents = graph.links()
        ids, nodes = list(graph.nodes), [msgspec.Raw(_ENCODER.encode(node)) for node in graph.nodes.values()]
        stored = _Stored(graph.topological_order(), ids, nodes, readers, dependents)
        written = write_derived(self.fs, path, FORMAT, _ENCODER.encode(stored))
        if written:
            self._known_stored(path)
        return written

    def _stored(self) -> frozenset[str]:
        return _STORED.get(self._root) or frozenset()

    def _known_stored(self, path: str) -> None:
        _STORED.put(self._root, self._stored() | {path})

    def baseline_path(self, manifest_hash: str) -> str:
        return f"{BASELINES_DIR}/{manifest_hash}-{FORMAT}.msgpack"  # the format in the name: files are create-only

    def read_ahead(self, manifest_hash: str) -> None:
        """Read the manifest's noted baseline now, beside a plan's other reads (its path needs only the
        manifest's hash: on S3 one round trip less in a row); the plan's load_unmatched takes it."""
        self._ahead = (manifest_hash, self._read(self.baseline_path(manifest_hash), _BASELINE_DECODER))

    def load_unmatched(self, manifest_hash: str, shape: tuple) -> frozenset[str] | None:
        """The jobs this manifest does not record as this graph shape describes them, if noted before."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == manifest_hash:
            stored = ahead[1]
        else:
            stored = self._read(self.baseline_path(manifest_hash), _BASELINE_DECODER)
        if stored is None or stored.shape != shape_digest(shape):
            return None  # noted against another shape (say, the blueprint was applied since): note again
        return frozenset(stored.unmatched)

    def save_unmatched(self, manifest_hash: str, shape: tuple, unmatched: frozenset[str]) -> bool:
        """Note a manifest's unmatched jobs (create-only: a manifest's hash names its content)."""
        stored = _StoredBaseline(shape_digest(shape), sorted(unmatched))
        return write_derived(self.fs, self.baseline_path(manifest_hash), FORMAT, _ENCODER.encode(stored))

    def _read(self, rel: str, decoder: msgspec.msgpack.Decoder):
        body = read_derived(self.fs, rel, FORMAT)
        if body is None:
            return None
        try:
            return decoder.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("%s/%s: ignoring a derived file that does not decode (%s)", self.fs.movie_id, rel, exc)
            return None

    def prune(self, keep: tuple, keep_manifest: str | None = None) -> int:
        """Delete the stored graphs of every shape but `keep` (the live revision's), and the baselines of
        every manifest but `keep_manifest`; how many went.

        Each is a cache of something no revision is live at, up to megabytes each: a later plan of that
        shape expands again, which costs only time."""
        kept = {self.path(keep), self.baseline_path(keep_manifest or "")}
        _STORED.put(self._root, self._stored() & kept)
        folders = (GRAPHS_DIR, BASELINES_DIR)
        pruned = each(lambda folder: prune_derived(self.fs, folder, kept, ".msgpack"), folders, threads_for(self.fs, 2))
        return sum(pruned)
