"""A blueprint's inputs as one observable source: observing a movie records the input values it has now.

The sensor observes each edit as it sees it. The same observation runs on demand: "Observe" on an input
in the UI (a run without a partition: every movie of the blueprint is observed), and the first step of
`<group>_regenerate` (that movie only). So staleness shows with the sensor off, and a run launched from
the UI observes the movie's edits before it materialises anything, leaving no false STALE behind.

An observation is written only when it moves: an input whose version equals its last observation is
skipped (one more equal version would be noise in the asset's history), and so is an input never
observed that still holds its blueprint default (a first observation makes whatever was materialised
before it stale, and nothing changed).
"""

import warnings
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from movie_assets.errors import MovieAssetsError
from movie_assets.orchestration.keys import input_key, partitions_for, regenerate_job_name
from movie_assets.orchestration.private import DATA_VERSION_TAG
from movie_assets.orchestration.resources import EventLogResource, StorageResource, movie_store
from movie_assets.pipeline.blueprint import Blueprint
from movie_assets.pipeline.blueprint.inputs import parse_input_key
from movie_assets.pipeline.steering import is_steering
from movie_assets.store.hashing import json_hash
from movie_assets.store.models import InputEntry

VALUE_PREVIEW = 300


@dataclass(frozen=True)
class InputVersion:
    """One blueprint input of one movie as Dagster sees it: a data version and what the UI shows."""

    name: str
    version: str
    metadata: dict
    at_default: bool


def input_versions(bp: Blueprint, entries: Mapping[str, InputEntry]) -> list[InputVersion]:
    """Versions of the blueprint inputs among `entries`; a loop input (SegmentText[0], [1], ...) is one
    version hashing every index. Pins and takes steer producers and are not blueprint inputs."""
    by_name: dict[str, dict[str, InputEntry]] = defaultdict(dict)
    for key, entry in entries.items():
        if is_steering(key):
            continue
        name, _ = parse_input_key(key)
        if name in bp.inputs:  # else kept from a larger loop, or dropped from the blueprint
            by_name[name][key] = entry
    out = []
    for name, found in sorted(by_name.items()):
        default = bp.inputs[name].default
        at_default = all(e.value == default for e in found.values())
        if bp.inputs[name].loop is None:
            [entry] = found.values()
            value = entry.value if isinstance(entry.value, str) else repr(entry.value)
            version, metadata = entry.hash, {"value": value[:VALUE_PREVIEW], "hash": entry.hash[:16]}
        else:
            version = json_hash({key: e.hash for key, e in sorted(found.items())})
            values = "; ".join(f"{key}={str(e.value)[:80]}" for key, e in sorted(found.items()))
            metadata = {"values": values[: VALUE_PREVIEW * 4], "count": len(found)}
        out.append(InputVersion(name, version, metadata, at_default))
    return out


def last_observed(instance: dg.DagsterInstance, key: dg.AssetKey, movie_id: str) -> str | None:
    """The data version of the input's latest observation for the movie, or None if never observed."""
    record = instance.get_latest_data_version_record(key, True, movie_id)
    if record is None:
        return None
    observation = record.asset_observation
    return (observation.tags or {}).get(DATA_VERSION_TAG) if observation else None


def moved(instance: dg.DagsterInstance, group: str, movie_id: str, found: list[InputVersion]) -> list[InputVersion]:
    """The versions worth an observation: those that differ from the last one recorded."""
    out = []
    for item in found:
        last = last_observed(instance, input_key(group, item.name), movie_id)
        if last != item.version and not (last is None and item.at_default):
            out.append(item)
    return out


def build_input_asset(bp: Blueprint, group: str) -> dg.AssetsDefinition:
    """The blueprint's inputs, one observable asset each, observed together per movie."""
    specs = [
        dg.AssetSpec(
            key=input_key(group, name),
            group_name=group,
            description=f"Input {name} ({spec.type}). {spec.description}".strip(),
            kinds={"input"},
            skippable=True,  # an unmoved input is not observed again
        )
        for name, spec in bp.inputs.items()
    ]

    def _observe(context: dg.AssetExecutionContext, storage: StorageResource, events: EventLogResource):
        # "Observe" on the asset in the UI launches a run without a partition: then every movie is observed
        if context.has_partition_key:
            movies = [context.partition_key]
        else:
            movies = context.instance.get_dynamic_partitions(partitions_for(group).name)
        selected = {key.path[-1] for key in context.selected_asset_keys}
        for movie_id in movies:
            try:
                _, entries = movie_store(storage, events, movie_id).require().graph()
            except MovieAssetsError as exc:  # one broken movie must not hide the others' edits
                context.log.warning(f"{movie_id}: inputs not observed: {exc}")
                continue
            found = [item for item in input_versions(bp, entries) if item.name in selected]
            if context.job_name == regenerate_job_name(group):
                # every input answers, so that the producers after it run, and their materializations
                # record each input's version (an edit no sensor saw included): the next edit stales them
                for item in found:
                    yield dg.ObserveResult(
                        asset_key=input_key(group, item.name),
                        data_version=dg.DataVersion(item.version),
                        metadata=item.metadata,
                    )
                continue
            for item in moved(context.instance, group, movie_id, found):
                # logged per partition: a run without one may observe many movies
                context.log_event(
                    dg.AssetObservation(
                        asset_key=input_key(group, item.name),
                        partition=movie_id,
                        tags={DATA_VERSION_TAG: item.version},
                        metadata=item.metadata,
                    )
                )
        yield from ()  # a generator: every output is skippable, and none is yielded

    # the one beta API here, pinned with Dagster: its warning would greet every `dg dev` for each blueprint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.multi_observable_source_asset(
            name=f"{group}_inputs",
            specs=specs,
            partitions_def=partitions_for(group),
            can_subset=True,
            description="Records the movie's current input values (edits included) so staleness follows them.",
        )(_observe)
