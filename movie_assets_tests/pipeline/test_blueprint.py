import pytest

from movie_assets.errors import BlueprintError, CycleError
from movie_assets.pipeline.blueprint.graph import expand_graph
from movie_assets.pipeline.blueprint.inputs import resolve_inputs
from movie_assets.pipeline.blueprint.load import builtin_blueprints, load_blueprint, load_builtin

MINI = """
meta: {id: mini, version: "1"}
inputs:
  Title: {type: string, required: true}
  N: {type: int, default: 2, min: 1}
  Text: {type: string, loop: segment, default: ""}
loops:
  segment: {count: N}
producers:
  a:
    version: "1"
    loops: [segment]
    inputs: {title: {type: string}, text: {type: string}}
    outputs: {out: {mime_type: text/plain}}
  b:
    version: "1"
    inputs: {parts: {type: text/*, list: true}}
    outputs: {out: {mime_type: text/plain}}
connections:
  - {from: Title, to: "a[segment].title"}
  - {from: "Text[segment]", to: "a[segment].text"}
collectors:
  - {from: "a[segment].out", to: b.parts}
"""


def test_shipped_blueprints_load_and_expand():
    assert {"video-audio-music", "image-audio", "audio-only"} <= set(builtin_blueprints())
    graph = expand_graph(load_builtin("video-audio-music"), {"Title": "T", "NumOfSegments": 3})
    assert sorted(j for j in graph.nodes if j.startswith("segment-0001/")) == [
        "segment-0001/narration",
        "segment-0001/script",
        "segment-0001/video_clip",
        "segment-0001/video_prompt",
    ]
    assert [d.id for d in graph.nodes["timeline"].deps["narrations"]] == [
        f"segment-000{i}/narration/audio" for i in range(3)
    ]
    order = graph.topological_order()
    assert order.index("segment-0002/script") < order.index("segment-0002/video_clip") < order.index("export")


def test_nested_loops_expand_images_per_segment():
    graph = expand_graph(load_builtin("image-audio"), {"Title": "T", "NumOfSegments": 2, "ImagesPerSegment": 3})
    images = [j for j in graph.nodes if j.endswith("/image")]
    assert len(images) == 6 and "segment-0001/image-0002/image" in images
    assert graph.nodes["segment-0001/image-0002/image"].deps["prompt"][0].id == "segment-0001/image_prompt/prompt"
    assert graph.nodes["segment-0000/image_prompt"].outputs[0].prompt_file == "prompts/segment/segment-0000/image.txt"


def test_mini_blueprint_expands():
    graph = expand_graph(load_blueprint(MINI), {"Title": "x", "Text": ["p", "q"], "N": 2})
    assert graph.inputs == {"Title": "x", "N": 2, "Text[0]": "p", "Text[1]": "q"}
    assert [d.id for d in graph.nodes["segment-0001/a"].deps["text"]] == ["Text[1]"]


def _problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(BlueprintError) as info:
        load_blueprint(text, name="custom.yaml")
    assert "custom.yaml" in str(info.value)
    return info.value.problems


def test_cycle_through_a_collector_is_reported_with_the_nodes():
    text = MINI.replace('{from: Title, to: "a[segment].title"}', '{from: b.out, to: "a[segment].title"}')
    with pytest.raises(CycleError, match=r"custom.yaml: producers: cycle between producers: a -> b -> a"):
        load_blueprint(text, name="custom.yaml")


def test_simple_cycle_between_unlooped_producers():
    text = """
meta: {id: cyc}
producers:
  x: {version: "1", inputs: {i: {type: text/plain}}, outputs: {o: {mime_type: text/plain}}}
  y: {version: "1", inputs: {i: {type: text/plain}}, outputs: {o: {mime_type: text/plain}}}
connections:
  - {from: x.o, to: y.i}
  - {from: y.o, to: x.i}
"""
    with pytest.raises(CycleError, match=r"producers: cycle between producers: x -> y -> x"):
        load_blueprint(text)


def test_dangling_connection_names_its_yaml_path():
    problems = _problems(MINI.replace("to: b.parts", "to: b.nothing"))
    assert ("collectors[0].to", "producer 'b' has no input 'nothing'") in problems
    problems = _problems(MINI.replace("from: Title", "from: Titel"))
    assert ("connections[0].from", "unknown input 'Titel'") in problems


def test_type_mismatch_and_missing_collector():
    problems = _problems(MINI.replace("parts: {type: text/*, list: true}", "parts: {type: audio/*, list: true}"))
    assert any(path == "collectors[0]" and "type mismatch" in msg for path, msg in problems)
    bad = MINI.replace('collectors:\n  - {from: "a[segment].out", to: b.parts}', "")
    bad = bad.replace("parts: {type: text/*, list: true}", "parts: {type: text/*}")
    bad += "  - {from: a.out, to: b.parts}\n"
    problems = _problems(bad)
    assert any("use a collector" in msg for _, msg in problems)


def test_loop_without_count_input():
    problems = _problems(MINI.replace("count: N", "count: Missing"))
    assert ("loops.segment.count", "loop 'segment' counts by unknown input 'Missing'") in problems


def test_unconnected_required_port_and_unknown_field():
    problems = _problems(MINI.replace('  - {from: Title, to: "a[segment].title"}\n', ""))
    assert ("producers.a.inputs.title", "required producer input is not connected") in problems
    problems = _problems(MINI.replace('version: "1"\n    loops', 'version: "1"\n    colour: red\n    loops', 1))
    assert any(path == "producers.a.colour" for path, _ in problems)


def test_missing_required_input_and_bad_values():
    bp = load_blueprint(MINI)
    with pytest.raises(BlueprintError, match=r"inputs.Title: missing required input"):
        resolve_inputs(bp, {})
    with pytest.raises(BlueprintError, match=r"inputs.N: .*below the minimum"):
        resolve_inputs(bp, {"Title": "t", "N": 0})
    with pytest.raises(BlueprintError, match=r"inputs.Nope: unknown input"):
        resolve_inputs(bp, {"Title": "t", "Nope": 1})
    with pytest.raises(BlueprintError, match=r"Title is not a loop input"):
        resolve_inputs(bp, {"Title[0]": "t"})


def test_not_yaml_and_not_a_mapping():
    assert _problems("a: [unclosed")[0][0] == "<document>"
    assert _problems("- 1\n- 2\n")[0] == ("<document>", "a blueprint is a YAML mapping")


def test_empty_lists_and_maps_of_a_blueprint_are_never_shared_between_instances():
    """The schema's `[]` and `{}` defaults are copied per instance (pydantic does), as the default
    factories they replaced did: one blueprint's edit must not show up in another."""
    from movie_assets.pipeline.blueprint.schema import PromptSpec
    from movie_assets.store.config import StorageConfig

    first, second = PromptSpec(), PromptSpec()
    first.variables.append("Title")
    assert second.variables == [] and PromptSpec().variables == []
    one, other = StorageConfig(), StorageConfig()
    one.options["endpoint_url"] = "http://x"
    assert other.options == {}
