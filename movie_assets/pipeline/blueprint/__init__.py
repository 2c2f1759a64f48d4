"""Blueprints: the YAML schema, its validation, input values, and expansion into the producer graph."""

from movie_assets.pipeline.blueprint.graph import ProducerGraph, ProducerNode, expand_graph, kahn_layers, loop_label
from movie_assets.pipeline.blueprint.inputs import coerce_value, normalise_edits, parse_input_key, resolve_inputs
from movie_assets.pipeline.blueprint.load import builtin_blueprints, load_blueprint, load_builtin, resolve_blueprint
from movie_assets.pipeline.blueprint.schema import TIMELINE_MIME, Blueprint, InputSpec, ProducerSpec
from movie_assets.pipeline.blueprint.validate import validate_blueprint

__all__ = [
    "TIMELINE_MIME",
    "Blueprint",
    "InputSpec",
    "ProducerGraph",
    "ProducerNode",
    "ProducerSpec",
    "builtin_blueprints",
    "coerce_value",
    "expand_graph",
    "kahn_layers",
    "load_blueprint",
    "load_builtin",
    "loop_label",
    "normalise_edits",
    "parse_input_key",
    "resolve_inputs",
    "resolve_blueprint",
    "validate_blueprint",
]
