"""Running a sensor's request in process, as the run launcher would, and reading staleness as the UI does."""

import dagster as dg
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest


def run_request(defs: dg.Definitions, instance, request: dg.RunRequest, resources: dict, **extra):
    """Materialise a run request (its movie's partition of its selected assets) in one run."""
    return dg.materialize(
        list(defs.assets),
        selection=request.asset_selection,
        partition_key=request.partition_key,
        instance=instance,
        resources=resources,
        tags=request.tags,
        **extra,
    )


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
