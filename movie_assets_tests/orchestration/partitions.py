"""Running a sensor's backfill in process, as the backfill daemon would: each partition's ready assets
in one run, partitions in dependency order."""

from collections import defaultdict

import dagster as dg
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.definitions.partitions.context import partition_loading_context
from dagster._core.loader import LoadingContextForTest


def run_backfill(defs: dg.Definitions, instance, request: dg.RunRequest, resources: dict) -> list:
    """Materialise a backfill request's (asset, partition)s; returns the run results in order."""
    graph = defs.resolve_asset_graph()
    pending = set(request.asset_graph_subset.iterate_asset_partitions())
    assets = list(defs.assets)
    results = []
    while pending:
        with partition_loading_context(dynamic_partitions_store=instance):
            rounds = _ready(graph, pending)
        assert rounds, f"no partition can run: {pending}"
        for partition, keys in sorted(rounds.items()):
            result = dg.materialize(
                assets,
                selection=sorted(keys, key=lambda k: k.to_user_string()),
                partition_key=partition,
                instance=instance,
                resources=resources,
                tags=request.tags,
            )
            assert result.success
            results.append(result)
            pending -= {AssetKeyPartitionKey(k, partition) for k in keys}
    return results


def _ready(graph, pending: set) -> dict[str, set]:
    """Per partition, the pending assets whose pending ancestors are in that same run."""
    ready: dict[str, set] = defaultdict(set)
    for key in graph.toposorted_asset_keys:
        for item in [p for p in pending if p.asset_key == key]:
            parents = graph.get_parents_partitions(item.asset_key, item.partition_key).parent_partitions
            same_run = ready[item.partition_key]
            blocked = [
                p
                for p in parents
                if p in pending and not (p.partition_key == item.partition_key and p.asset_key in same_run)
            ]
            if not blocked:
                ready[item.partition_key].add(key)
    return {k: v for k, v in ready.items() if v}


def stale_partitions(defs: dg.Definitions, instance) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(stale, missing) as (producer, partition) over every materializable asset and partition."""
    graph = defs.resolve_asset_graph()
    resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))
    stale, missing = set(), set()
    for key in graph.materializable_asset_keys:
        for partition in graph.get(key).partitions_def.get_partition_keys(dynamic_partitions_store=instance):
            status = resolver.get_status(key, partition)
            where = (key.path[-1], partition)
            if status == StaleStatus.STALE:
                stale.add(where)
            elif status == StaleStatus.MISSING:
                missing.add(where)
    return stale, missing
