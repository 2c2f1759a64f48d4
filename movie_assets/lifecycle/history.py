"""Revision history: list, diff, rollback (a new revision, never a rewrite) and verify."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from movie_assets.errors import BlobIntegrityError, InvalidDocument, MovieAssetsError, NotFound, StorageError
from movie_assets.lifecycle.publish import publish
from movie_assets.pipeline.steering import fits
from movie_assets.store.blobs import BlobStore, blob_path
from movie_assets.store.events import EventLog, FileEventLog
from movie_assets.store.hashing import sha256_bytes
from movie_assets.store.manifests import CURRENT, ManifestService, manifest_path
from movie_assets.store.models import BlobRef, Manifest, ManifestPointer, RevisionId, utc_now
from movie_assets.store.parallel import at_once, each, io_threads, threads_for
from movie_assets.store.storage import MovieFS


@dataclass(frozen=True)
class RevisionSummary:
    revision: RevisionId
    parent: RevisionId | None
    created_at: str
    artefacts: int
    inputs: int
    live: bool
    published: bool = True


@dataclass
class ManifestDiff:
    a: RevisionId
    b: RevisionId
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    inputs_changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.inputs_changed)


def history(fs: MovieFS) -> list[RevisionSummary]:
    """Every stored revision, oldest first, with the live one flagged."""
    service = ManifestService(fs)
    pointer = service.load_pointer()
    chain = set(service.published())
    out = []
    for revision in service.history():
        manifest = service.load(revision)
        out.append(
            RevisionSummary(
                revision=revision,
                parent=manifest.parent,
                created_at=manifest.created_at,
                artefacts=len(manifest.artefacts),
                inputs=len(manifest.inputs),
                live=pointer is not None and pointer.revision == revision,
                published=revision in chain,
            )
        )
    return out


def diff_manifests(a: Manifest, b: Manifest) -> ManifestDiff:
    """Artefacts added / removed / changed (different blob) and inputs changed from a to b."""
    result = ManifestDiff(a.revision, b.revision)
    result.added = sorted(set(b.artefacts) - set(a.artefacts))
    result.removed = sorted(set(a.artefacts) - set(b.artefacts))
    result.changed = sorted(
        k for k in set(a.artefacts) & set(b.artefacts) if a.artefacts[k].blob.hash != b.artefacts[k].blob.hash
    )
    for key in sorted(set(a.inputs) | set(b.inputs)):
        old = a.inputs[key] if key in a.inputs else None
        new = b.inputs[key] if key in b.inputs else None
        if (old.hash if old else None) != (new.hash if new else None):
            result.inputs_changed[key] = (old.value if old else None, new.value if new else None)
    return result


def diff(fs: MovieFS, rev_a: str, rev_b: str) -> ManifestDiff:
    service = ManifestService(fs)
    return diff_manifests(service.load(RevisionId(rev_a)), service.load(RevisionId(rev_b)))


def rollback(fs: MovieFS, target: str) -> ManifestPointer:
    """Publish a new revision whose content (inputs, jobs, artefacts, timeline, blueprint) equals `target`.

    History is never rewritten: the new revision's parent is the live one. Edits logged after the
    live revision stay pending (the cursors are the live revision's), so the next regenerate applies them.
    A live manifest that is damaged does not stop it: the cursors then come from the newest intact
    manifest. Raises ManifestConflict if another commit moves current.json meanwhile.
    """
    service = ManifestService(fs)
    pointer = service.load_pointer()
    if pointer is None:
        service.load_current()  # PointerMissing when revisions were published: verify --repair first
        raise StorageError(f"{fs.movie_id}: nothing was ever committed; there is no revision to roll back to")
    source = service.load(RevisionId(target))
    blobs = BlobStore(fs)
    missing = sorted(h for h in source.blob_hashes() if not blobs.has(h))
    if missing:
        raise StorageError(
            f"{fs.movie_id}: cannot roll back to {target}: {len(missing)} blob(s) missing, e.g. {missing[0]}"
        )
    try:
        live = service.load(pointer.revision, expected_hash=pointer.hash)
        known = live.blob_hashes()
    except (StorageError, ValueError):  # the live manifest is damaged: take the cursors of an intact one
        intact = service.newest_intact()
        live = (intact[0] if intact else source).replace(revision=pointer.revision)
        known = frozenset()
    manifest = source.replace(
        revision=pointer.revision.next(),
        parent=pointer.revision,
        parent_hash=pointer.hash,
        created_at=utc_now(),
        input_cursor=live.input_cursor,
        artefact_cursor=live.artefact_cursor,
    )
    return publish(service, blobs, manifest, pointer.hash, known)


@dataclass
class VerifyReport:
    movie_id: str
    revisions: int = 0
    blobs_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    fs: MovieFS,
    events: EventLog | None = None,
    parsed: dict[str, Manifest] | None = None,
    beside: Callable[[], object] | None = None,
) -> VerifyReport:
    """Every manifest parses, every referenced blob exists and hashes right, current.json points at a
    stored manifest with the recorded hash, and the event logs parse. Collects all problems. `parsed`, if
    given, receives every manifest that parsed, by revision; `beside` is called while the blobs are read."""
    report = VerifyReport(fs.movie_id)
    claims: dict[str, tuple[str, BlobRef]] = {}
    digests: dict[str, str] = {}
    referenced, chained = _verify_manifests(fs, report, claims, {} if parsed is None else parsed, digests)
    log = events or FileEventLog(fs)
    logs: list[str] = []
    pointer: list[ManifestPointer | InvalidDocument | None] = []

    def read_logs() -> None:
        try:
            pointer.append(ManifestService(fs).load_pointer())
        except InvalidDocument as exc:
            pointer.append(exc)
        for name, stream in (("inputs", log.stream_inputs), ("artefacts", log.stream_artefacts)):
            try:
                for _ in stream():
                    pass
            except (InvalidDocument, StorageError) as exc:
                logs.append(f"{name} log: {exc}")

    # the pointer's and the logs' chain of reads (and `beside`) go on while the blobs are read (on S3 each
    # is rounds of requests); all together keep to the io_threads setting
    others = [read_logs, *([beside] if beside is not None else [])]
    lanes = threads_for(fs, 1 + len(others))
    blob_threads = max(io_threads(fs) - (lanes - 1), 1)
    at_once([lambda: _verify_blobs(BlobStore(fs), referenced, claims, report, blob_threads), *others], lanes)
    _verify_pointer(fs, report, chained, pointer[0], digests)
    report.problems += logs
    return report


def _verify_manifests(
    fs: MovieFS, report: VerifyReport, claims: dict, parsed: dict, digests: dict
) -> tuple[set[str], bool]:
    """Parse every stored manifest (into `parsed`, and each file's sha256 into `digests`); the blob hashes
    they reference (and into `claims`, the size and type an entry claims for each), and whether any was
    built on a published revision (then a pointer must exist)."""
    referenced: set[str] = set()
    chained = False
    rels = fs.list("manifests")

    def read(rel: str) -> bytes | NotFound:
        try:
            return fs.read(rel)
        except NotFound as exc:
            return exc

    for rel, raw in zip(rels, each(read, rels, threads_for(fs)), strict=True):
        report.revisions += 1
        try:
            if isinstance(raw, NotFound):
                raise raw
            digests[rel] = sha256_bytes(raw)
            manifest = Manifest.parse_document(raw, f"{fs.movie_id}/{rel}")
        except (InvalidDocument, NotFound) as exc:
            report.problems.append(str(exc))
            continue
        if manifest_path(manifest.revision) != rel:
            report.problems.append(f"{fs.movie_id}/{rel} holds revision {manifest.revision}")
        parsed[str(manifest.revision)] = manifest
        referenced |= manifest.blob_hashes()
        for artefact_id, entry in manifest.artefacts.items():  # what each entry claims, checked once per blob
            claims.setdefault(entry.blob.hash, (f"{manifest.revision} {artefact_id}", entry.blob))
        chained = chained or manifest.parent_hash is not None
    return referenced, chained


WHOLE_READ = 32 << 20  # a blob up to this size is read in one request (no HEAD before the GET)


def _verify_blobs(blobs: BlobStore, referenced: set[str], claims: dict, report: VerifyReport, threads: int) -> None:
    """Each referenced blob re-hashed, and its size and first bytes against what a manifest entry claims
    for it (one read of each blob), several at once; problems in blob order."""
    ordered = sorted(referenced)
    found = each(lambda h: _check_blob(blobs, h, claims.get(h)), ordered, threads)
    report.blobs_checked += len(ordered)
    for problems in found:
        report.problems += problems


def _check_blob(blobs: BlobStore, blob_hash: str, claim: tuple[str, BlobRef] | None) -> list[str]:
    size, head = 0, b""
    try:
        if claim is not None and claim[1].size <= WHOLE_READ:
            data = blobs.fs.read_blob(blob_path(blob_hash))  # the store's own bytes, never the local cache
            if sha256_bytes(data) != blob_hash:
                raise BlobIntegrityError(
                    f"blob {blob_hash} of movie {blobs.movie_id!r} is corrupted: its bytes hash to {sha256_bytes(data)}"
                )
            size, head = len(data), data[:64]
        else:
            for chunk in blobs.open(blob_hash):
                head = head or chunk[:64]
                size += len(chunk)
    except NotFound:
        return [f"blob {blob_hash} is referenced but missing"]
    except BlobIntegrityError as exc:
        return [str(exc)]
    if claim is None:
        return []
    where, ref = claim
    problems = []
    if size != ref.size:
        problems.append(f"{where}: claims {ref.size} bytes, its blob {blob_hash} has {size}")
    kind = fits(ref.mime_type, head)
    if kind is not None:
        problems.append(f"{where}: claims {ref.mime_type}, its blob {blob_hash} holds {kind}")
    return problems


def _verify_pointer(
    fs: MovieFS, report: VerifyReport, chained: bool, pointer: ManifestPointer | InvalidDocument | None, digests: dict
) -> None:
    """The pointer as read (`pointer`) names a manifest whose bytes hash as it records: those read before
    (`digests`, by path; manifests are create-only), else read now (one committed meanwhile)."""
    where = f"{fs.movie_id}/{CURRENT}"
    if isinstance(pointer, InvalidDocument):
        report.problems.append(str(pointer))
        return
    if pointer is None:
        # manifests that no published revision precedes are a first commit killed before its pointer
        # swap: nothing was ever published, and the next commit (or migrate rerun) goes on from there
        if chained and not report.problems:
            report.problems.append(f"{where} is missing although published revisions exist")
        return
    try:
        if (digests.get(pointer.manifest) or sha256_bytes(fs.read(pointer.manifest))) != pointer.hash:
            report.problems.append(f"{where} records hash {pointer.hash} but {pointer.manifest} differs")
    except NotFound:
        report.problems.append(f"{where} points at {pointer.manifest}, which does not exist")
    except StorageError as exc:
        report.problems.append(str(exc))


@dataclass
class MovieRow:
    movie_id: str
    blueprint: str
    revision: str
    cost: float
    pending: int
    problem: str | None = None


def movie_row(store: Any) -> MovieRow:
    """A line of the movies list; a damaged movie shows its problem instead of breaking the page."""
    from movie_assets.lifecycle.metrics import load_metrics

    try:
        manifest, _ = store.current()
        pending = sum(1 for _ in store.events.stream_inputs(after=manifest.input_cursor))
        cost = sum(m.cost for item in store.history() if (m := load_metrics(store.fs, item.revision)))
        blueprint = store.blueprint().meta.id if store.exists() else "legacy"
        return MovieRow(store.movie_id, blueprint, str(manifest.revision), cost, pending)
    except MovieAssetsError as exc:
        return MovieRow(store.movie_id, "?", "?", 0.0, 0, str(exc))
