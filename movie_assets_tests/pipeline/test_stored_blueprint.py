"""A movie's stored blueprint is read back from its JSON copy, exactly as its YAML parses, without YAML."""

from __future__ import annotations

import logging

import pytest

from movie_assets.movie import BLUEPRINT_FILE, MovieStore
from movie_assets.pipeline.blueprint.load import builtin_blueprints, load_blueprint, load_builtin
from movie_assets.pipeline.blueprint.stored import JSON_COPIES, json_copy_path, load_json_copy

from ..helpers import CountingProduce, modules_a_command_loads


@pytest.mark.parametrize("name", builtin_blueprints())
def test_the_json_copy_of_every_shipped_blueprint_is_what_its_stored_yaml_parses_to(local_storage, name):
    store = MovieStore(local_storage, "film")
    store.init(load_builtin(name), {"Title": "T", "NumOfSegments": 2} if name != "music-only" else {"Title": "T"})
    raw = store.fs.read(BLUEPRINT_FILE)
    from_yaml = load_blueprint(raw.decode(), name="film/blueprint.yaml")
    from_json = load_json_copy(store.fs, raw, "film/blueprint.yaml")
    assert from_json == from_yaml and from_json.ref == from_yaml.ref and from_json.to_yaml() == from_yaml.to_yaml()


def test_reading_a_movie_imports_no_yaml(local_storage):
    MovieStore(local_storage, "film").init(load_builtin("audio-only"), {"Title": "T", "NumOfSegments": 2})
    printed, loaded = modules_a_command_loads(["--root", local_storage.root, "status", "film"], ("yaml", "tomllib"))
    assert "dirty jobs" in printed and loaded == [], printed


def test_a_copy_that_does_not_hold_is_ignored_and_the_yaml_decides(local_storage, caplog):
    store = MovieStore(local_storage, "film")
    store.init(load_builtin("audio-only"), {"Title": "T", "NumOfSegments": 2})
    raw = store.fs.read(BLUEPRINT_FILE)
    for damaged in (b"{not json", b'{"meta": {"id": "x"}, "producers": 3}'):
        store.fs.write_atomic(json_copy_path(raw), damaged)
        with caplog.at_level(logging.WARNING):
            assert load_json_copy(store.fs, raw, "film/blueprint.yaml") is None
        assert "does not hold" in caplog.text
        assert MovieStore(local_storage, "film").blueprint() == load_blueprint(raw.decode(), name="x")
    store.fs.delete(json_copy_path(raw))
    assert load_json_copy(store.fs, raw, "film/blueprint.yaml") is None, "no copy: the YAML is read"


def test_a_new_blueprint_gets_its_own_copy_and_an_older_movie_gets_one_at_its_next_commit(local_storage):
    store = MovieStore(local_storage, "film")
    bp = load_builtin("audio-only")
    store.init(bp, {"Title": "T", "NumOfSegments": 2})
    first = store.fs.read(BLUEPRINT_FILE)
    music = bp.producers["music"].model_copy(update={"version": "2"})
    store.set_blueprint(bp.model_copy(update={"producers": {**bp.producers, "music": music}}))
    second = store.fs.read(BLUEPRINT_FILE)
    assert load_json_copy(store.fs, second, "x").producers["music"].version == "2"
    assert load_json_copy(store.fs, first, "x").producers["music"].version == "1", "a copy names its bytes"
    for copy in store.fs.list(JSON_COPIES):
        store.fs.delete(copy)  # as a movie made before copies were kept
    assert store.regenerate(CountingProduce()).committed
    assert store.fs.exists(json_copy_path(second))
