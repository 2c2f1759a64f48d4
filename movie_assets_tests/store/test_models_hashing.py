import gc
import weakref

import pytest

from movie_assets.errors import InvalidDocument, InvalidValue
from movie_assets.store.hashing import canonical_json, inputs_hash, json_hash, sha256_bytes, sha256_stream
from movie_assets.store.models import (
    BlobRef,
    InputEvent,
    Manifest,
    ManifestPointer,
    RevisionId,
    TimelineDocument,
    empty_manifest,
)


def test_canonical_json_is_sorted_compact_utf8():
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    assert json_hash({"a": 1, "b": 2}) == json_hash({"b": 2, "a": 1})


def test_canonical_json_rejects_nan():
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_sha256_stream_matches_bytes():
    import io

    data = b"x" * 3_000_000
    assert sha256_stream(io.BytesIO(data)) == (sha256_bytes(data), len(data))
    assert sha256_stream([data[:10], data[10:]]) == (sha256_bytes(data), len(data))


def test_inputs_hash_is_order_independent_and_version_sensitive():
    a = inputs_hash("p", "1", {"x": "h1", "y": "h2"})
    assert a == inputs_hash("p", "1", {"y": "h2", "x": "h1"})
    assert a != inputs_hash("p", "2", {"x": "h1", "y": "h2"})
    assert a != inputs_hash("p", "1", {"x": "h1", "y": "h2"}, {"segment": 1})


def test_revision_id_parse_next_and_rejects_garbage():
    rev = RevisionId.parse("rev-0009")
    assert rev.number == 9 and rev.next() == "rev-0010"
    assert RevisionId.from_number(12345) == "rev-12345"
    for bad in ["rev-1", "rev-abcd", "0001", "rev--001", ""]:
        with pytest.raises(ValueError):
            RevisionId(bad)


def test_unknown_fields_in_stored_json_are_rejected_with_location():
    raw = empty_manifest("m").canonical().replace(b'"movie_id"', b'"surprise":1,"movie_id"')
    with pytest.raises(InvalidDocument, match=r"m\.json: not a valid Manifest: .*unknown field `surprise`"):
        Manifest.parse_document(raw, "m.json")
    with pytest.raises(InvalidDocument, match="current.json"):
        ManifestPointer.parse_document(b"{not json", "current.json")


def test_models_round_trip():
    ref = BlobRef(hash="a" * 64, size=3, mime_type="text/plain")
    assert BlobRef.parse_document(ref.canonical(), "ref") == ref
    assert BlobRef.from_builtins(ref.to_builtins()) == ref
    event = InputEvent(id="1", key="k", value=[1, 2], hash="h", created_at="t")
    assert InputEvent.parse_document(event.canonical(), "inputs.log") == event
    with pytest.raises(InvalidValue, match=r"pin: not a valid BlobRef: hash: .*regex"):
        BlobRef.from_builtins({"hash": "nothex", "size": 1}, "pin")
    with pytest.raises(InvalidDocument, match=r"ref: not a valid BlobRef: size: .*>= 0"):
        BlobRef.parse_document(b'{"hash":"' + b"a" * 64 + b'","size":-1}', "ref")


def test_a_manifest_parsed_from_its_canonical_bytes_gives_the_same_bytes_and_revision_ids():
    clip = {"artefact_id": "a", "start": 0, "duration": 2, "blob": {"hash": "b" * 64, "size": 1}}
    timeline = {"duration": 2, "tracks": [{"kind": "audio", "clips": [clip]}]}
    document = TimelineDocument.from_builtins(timeline)
    built = Manifest(movie_id="m", revision="rev-0002", parent="rev-0001", created_at="t", timeline=document)
    assert type(built.revision) is RevisionId and built.parent.next() == "rev-0002"
    raw = built.canonical()
    assert b'"start":0.0' in raw and b'"duration":2.0' in raw, "times are floats in the bytes, as written before"
    parsed = Manifest.parse_document(raw, "m.json")
    assert parsed == built and parsed.canonical() == raw and type(parsed.parent) is RevisionId
    with pytest.raises(InvalidDocument, match=r"revision: not a revision id"):
        Manifest.parse_document(raw.replace(b'"rev-0002"', b'"rev-2"'), "m.json")


def test_records_read_back_are_left_to_reference_counting_and_their_containers_are_still_collected():
    clip = {"artefact_id": "a", "start": 0, "duration": 2, "blob": {"hash": "b" * 64, "size": 1}}
    timeline = TimelineDocument.from_builtins({"duration": 2, "tracks": [{"kind": "audio", "clips": [clip]}]})
    parsed = Manifest.parse_document(
        Manifest(movie_id="m", revision="rev-0001", created_at="t", timeline=timeline).canonical(), "m"
    )
    records = [parsed, parsed.timeline, parsed.timeline.tracks[0], parsed.timeline.tracks[0].clips[0]]
    assert not any(gc.is_tracked(r) for r in records), "a record can be in no cycle: the collector skips it"
    assert gc.is_tracked(parsed.timeline.tracks), "the lists it holds are tracked as ever"
    # a cycle among ordinary objects that a record refers to is freed once the record is gone
    cycle: list = []
    cycle.append(cycle)
    held = weakref.ref(gc_probe := _Probe(cycle))
    event = InputEvent(id="1", key="k", value=[cycle, gc_probe], hash="h", created_at="t")
    del cycle, gc_probe, event
    gc.collect()
    assert held() is None


class _Probe:
    def __init__(self, payload: list) -> None:
        self.payload = payload


def test_an_artefact_event_keeps_the_bytes_pydantic_wrote_and_refuses_a_bad_blob_with_its_path():
    from movie_assets.pipeline.models import JobDescriptor
    from movie_assets.pipeline.recorder import artefact_event
    from movie_assets.store.models import ArtefactEvent

    blob = BlobRef(hash="c" * 64, size=4, mime_type="text/plain")
    job = JobDescriptor(job_id="j", path=["j"], producer="p", producer_version="1", implementation="i")
    event = artefact_event(job, "rev-0001", "succeeded", "h", "j/text", blob, cost=1, duration=2)
    raw = event.canonical()
    assert b'"cost":1.0' in raw and b'"duration_s":2.0' in raw, "floats stay floats in the log, as before"
    assert ArtefactEvent.parse_document(raw, "artefacts.log") == event
    bad = raw.replace(b'"size":4', b'"size":-4')
    with pytest.raises(InvalidDocument, match=r"artefacts\.log: not a valid ArtefactEvent: output\.size: .*>= 0"):
        ArtefactEvent.parse_document(bad, "artefacts.log")
    with pytest.raises(InvalidDocument, match=r"artefacts\.log: not a valid ArtefactEvent: revision: .*rev-"):
        ArtefactEvent.parse_document(raw.replace(b'"rev-0001"', b'"rev-1"'), "artefacts.log")


def test_a_plan_read_back_from_its_bytes_is_the_plan_that_was_written():
    from movie_assets.movie import MovieStore
    from movie_assets.pipeline.blueprint.load import load_builtin
    from movie_assets.pipeline.models import ExecutionPlan, JobDescriptor
    from movie_assets.store.config import StorageConfig
    from movie_assets.store.storage import StorageContext

    store = MovieStore(StorageContext(StorageConfig.from_url("memory://plans")), "m")
    store.init(load_builtin("video-audio-music"), {"Title": "T", "NumOfSegments": 2})
    plan = store.plan()
    assert plan.jobs and all(type(job) is JobDescriptor for job in plan.jobs)
    again = ExecutionPlan.parse_document(plan.to_json(), "plan.json")
    assert again == plan and again.to_builtins() == plan.to_builtins() and type(again.revision) is RevisionId
    with pytest.raises(InvalidDocument, match=r"plan\.json: not a valid ExecutionPlan: .*unknown field `extra`"):
        ExecutionPlan.parse_document(plan.to_json().replace(b'{"job_id"', b'{"extra":1,"job_id"', 1), "plan.json")


def test_a_signature_is_the_sha256_of_its_payloads_canonical_json_whatever_the_text():
    import random

    # every stored revision names its jobs by these hashes: they must never move
    assert (
        inputs_hash(
            "narration",
            "1+model=offline;prompt=ab12cd34",
            {"script[0]=segment-0001/script/text": "a" * 64, "voice[0]=Voice": "b" * 64},
            {"segment": 1},
        )
        == "000f11ae0a674dafca15fa63c6315c9afafa8596dd7076a8ed308c2eb58b0534"
    )
    assert (
        inputs_hash("narration", "1", {'x[0]=Ünïcødé "q" \\ \n': "c" * 64}, {"segment": 0}, 2)
        == "3398320378ff40ae8fb77e1db369588680e5e796181062ffc88108fbce58d347"
    )
    chars = [chr(i) for i in range(0x250)] + ["\u2028", "\u2029", "\x7f", "😀", "\ufeff", "\U0010fffd"]
    rng = random.Random(7)

    def text(limit: int) -> str:
        return "".join(rng.choice(chars) for _ in range(rng.randint(0, limit)))

    for _ in range(3000):
        producer, version, value = text(8), text(8), text(12)
        deps = {text(12): text(64) for _ in range(rng.randint(1, 3))}  # several, so their order matters
        indices = {text(4): rng.randint(-(2**40), 2**40) for _ in range(rng.randint(0, 3))}
        take = rng.choice([0, 0, 1, 7])
        payload = {
            "producer": producer,
            "version": version,
            "deps": sorted([k, v] for k, v in deps.items()),
            "indices": dict(sorted(indices.items())),
        }
        if take:
            payload["take"] = take
        assert inputs_hash(producer, version, deps, indices, take) == sha256_bytes(canonical_json(payload))
        assert json_hash(value) == sha256_bytes(canonical_json(value)), "an input's text hashes as its JSON"
    assert json_hash('Every night the keeper climbs the stairs. "É" \\ \n\t') == (
        "b2dbf03fb2f6954e5dba7cb0e9b71baf2ce36907595b195d794f9068e0cfdb7f"
    )
    assert json_hash(1e16) == sha256_bytes(b"1e+16"), "floats keep json's spelling"
