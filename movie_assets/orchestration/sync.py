"""Store truth into Dagster: input values as observations, revisions committed elsewhere as materializations.

A revision committed by the CLI, the viewer or MCP is reported as runless materializations of the
movie's partition of exactly the assets whose jobs changed, in dependency order and with provenance
(code version and an input event pointer), so Dagster shows such a movie as materialized and not
stale, and a later input edit or code bump still marks exactly the right assets stale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from movie_assets.movie import MovieStore
from movie_assets.orchestration.inputs import input_versions
from movie_assets.orchestration.keys import NO_BASE, input_key, manifest_key, producer_key
from movie_assets.orchestration.metadata import manifest_metadata, record_metadata
from movie_assets.orchestration.private import (
    CODE_VERSION_TAG,
    DATA_VERSION_IS_USER_PROVIDED_TAG,
    DATA_VERSION_TAG,
    INPUT_DATA_VERSION_TAG_PREFIX,
    INPUT_EVENT_POINTER_TAG_PREFIX,
)
from movie_assets.pipeline.blueprint import Blueprint, kahn_layers
from movie_assets.pipeline.blueprint.inputs import parse_input_key
from movie_assets.pipeline.blueprint.shape import ProducerShape, asset_group, blueprint_shape, sinks
from movie_assets.pipeline.recorder import data_version_of
from movie_assets.pipeline.steering import is_steering
from movie_assets.store.models import InputEntry, JobRecord, Manifest


@dataclass
class BlueprintAssets:
    """What the definitions built for one blueprint: its group and producer shape."""

    blueprint: Blueprint
    group: str
    shape: dict[str, ProducerShape]
    order: list[str]

    @classmethod
    def of(cls, bp: Blueprint) -> BlueprintAssets:
        shape = blueprint_shape(bp)
        order = [name for layer in kahn_layers({n: set(s.upstream) for n, s in shape.items()}) for name in layer]
        return cls(bp, asset_group(bp.meta.id), shape, order)

    def parents(self, producer: str) -> list[dg.AssetKey]:
        shape = self.shape[producer]
        return [input_key(self.group, i) for i in sorted(shape.inputs)] + [
            producer_key(self.group, u) for u in sorted(shape.upstream)
        ]


class StoreSync:
    """Writes observations and materializations of one movie into a Dagster instance."""

    def __init__(self, instance: dg.DagsterInstance, assets: BlueprintAssets, viewer_url: str | None = None) -> None:
        self.instance = instance
        self.assets = assets
        self.viewer_url = viewer_url

    def observe_inputs(self, store: MovieStore, entries: dict[str, InputEntry], first_sight: bool = False) -> int:
        """One observation per input of the movie; a loop input (SegmentText[0], [1], ...) is one
        observation whose data version hashes every index's value. On a movie's first sight, inputs
        still at their blueprint default are not observed: an input never observed cannot make anything
        stale, and the first edit of it is observed like any edit (each observation is one transaction
        of Dagster's event storage, most of a first sight of many movies)."""
        found = input_versions(self.assets.blueprint, entries)
        if first_sight:
            found = [item for item in found if not item.at_default]
        for item in found:
            observation = dg.AssetObservation(
                asset_key=input_key(self.assets.group, item.name),
                partition=store.movie_id,
                tags={DATA_VERSION_TAG: item.version},
                metadata=item.metadata,
            )
            self.instance.report_runless_asset_event(observation)
        return len(found)

    def committed_by_dagster(self, movie_id: str, digest: str) -> bool:
        """True when the manifest asset's latest materialization of the movie is this very revision."""
        record = self.instance.get_latest_data_version_record(manifest_key(self.assets.group), False, movie_id)
        if record is None or record.asset_materialization is None:
            return False
        return record.asset_materialization.tags.get(DATA_VERSION_TAG) == digest

    def report_revision(self, store: MovieStore, manifest: Manifest, digest: str, previous: Manifest | None) -> int:
        """Materializations of the partitions whose jobs changed since `previous` (all of them if None)."""
        changed: set[str] = set()
        slices: dict[str, list[JobRecord]] = defaultdict(list)
        for record in manifest.jobs.values():
            if record.producer not in self.assets.shape:
                continue
            slices[record.producer].append(record)
            old = previous.jobs.get(record.job_id) if previous else None
            if old is None or old.inputs_hash != record.inputs_hash or old.outputs != record.outputs:
                changed.add(record.producer)
        # a loop input's observation covers every index, so it is reported whole when any index moved
        entries = manifest.inputs if previous is None else _with_whole_loops(manifest, previous)
        count = self.observe_inputs(store, entries, first_sight=previous is None)
        status = f"committed outside Dagster as {manifest.revision}"
        for producer in self.assets.order:
            if producer in changed:
                self._materialize(store, producer, slices[producer], status)
                count += 1
        final = [producer_key(self.assets.group, name) for name in sinks(self.assets.shape)]
        tags = self._provenance("sync", digest, final)
        self.instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=manifest_key(self.assets.group),
                partition=store.movie_id,
                tags=tags,
                metadata={**manifest_metadata(store, False, self.viewer_url), "committed": status},
            )
        )
        return count + 1

    def _materialize(self, store: MovieStore, producer: str, records: list[JobRecord], status: str):
        records = sorted(records, key=lambda r: r.job_id)
        outputs = {a: b for r in records for a, b in r.outputs.items()}
        version = records[0].producer_version
        tags = self._provenance(
            version, data_version_of(outputs) if outputs else NO_BASE, self.assets.parents(producer)
        )
        self.instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=producer_key(self.assets.group, producer),
                partition=store.movie_id,
                tags=tags,
                metadata=record_metadata(store, records, self.viewer_url, status),
            )
        )

    def _provenance(self, code_version: str, data_version: str, parents: Iterable[dg.AssetKey]) -> dict[str, str]:
        # every parent event written so far is at or before this pointer; a later one (an edit observed
        # after this revision) is what makes the partition stale, exactly as for a Dagster-run step
        pointer = str(self.instance.event_log_storage.get_maximum_record_id() or 0)
        tags = {
            CODE_VERSION_TAG: code_version,
            DATA_VERSION_TAG: data_version,
            DATA_VERSION_IS_USER_PROVIDED_TAG: "true",
        }
        for parent in parents:
            tags[f"{INPUT_DATA_VERSION_TAG_PREFIX}/{parent.to_user_string()}"] = "partitioned"
            tags[f"{INPUT_EVENT_POINTER_TAG_PREFIX}/{parent.to_user_string()}"] = pointer
        return tags


def _with_whole_loops(manifest: Manifest, previous: Manifest) -> dict[str, InputEntry]:
    """The inputs that changed since `previous`, every index of a loop input that changed anywhere."""
    moved = {
        _name(k) for k, e in manifest.inputs.items() if k not in previous.inputs or previous.inputs[k].hash != e.hash
    }
    return {k: e for k, e in manifest.inputs.items() if _name(k) in moved}


def pending_inputs(entries: dict[str, InputEntry], manifest: Manifest) -> dict[str, InputEntry]:
    """Effective inputs that differ from the live revision's (edits not yet committed), every index of a
    loop input that changed anywhere."""
    moved = {_name(k) for k, e in entries.items() if k not in manifest.inputs or manifest.inputs[k].hash != e.hash}
    return {k: e for k, e in entries.items() if _name(k) in moved}


def _name(key: str) -> str:
    """The input a key belongs to (`SegmentText` of `SegmentText[2]`); a steering key is its own."""
    return key if is_steering(key) else parse_input_key(key)[0]
