import pytest
from pydantic import ValidationError

from movie_assets.errors import InvalidDocument
from movie_assets.store.hashing import canonical_json, inputs_hash, json_hash, sha256_bytes, sha256_stream
from movie_assets.store.models import BlobRef, InputEvent, Manifest, ManifestPointer, RevisionId, empty_manifest


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
    raw = empty_manifest("m").model_dump_json().replace('"movie_id"', '"surprise":1,"movie_id"')
    with pytest.raises(InvalidDocument, match=r"m\.json: not a valid Manifest: surprise"):
        Manifest.parse_document(raw, "m.json")
    with pytest.raises(InvalidDocument, match="current.json"):
        ManifestPointer.parse_document(b"{not json", "current.json")


def test_models_round_trip():
    ref = BlobRef(hash="a" * 64, size=3, mime_type="text/plain")
    assert BlobRef.model_validate_json(ref.model_dump_json()) == ref
    event = InputEvent(id="1", key="k", value=[1, 2], hash="h", created_at="t")
    assert InputEvent.model_validate_json(event.canonical()) == event
    with pytest.raises(ValueError):
        BlobRef(hash="nothex", size=1)


def test_a_trusted_instance_is_the_validated_one_and_needs_every_field():
    from movie_assets.pipeline.blueprint import expand_graph
    from movie_assets.pipeline.blueprint.load import load_builtin
    from movie_assets.pipeline.models import JobDescriptor
    from movie_assets.pipeline.planner import descriptor

    graph = expand_graph(load_builtin("video-audio-music"), {"Title": "T", "NumOfSegments": 2})
    for node in graph.nodes.values():
        built = descriptor(node, ["input Title changed"], True, "a" * 64, 2)
        validated = JobDescriptor(**built.model_dump())
        assert built == validated and built.model_fields_set == validated.model_fields_set
        assert built.model_dump_json() == validated.model_dump_json()
        with pytest.raises(ValidationError):  # frozen, as a validated one is
            built.take = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="needs every field"):
        JobDescriptor.trusted({"job_id": "x"})
