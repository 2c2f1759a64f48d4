"""Ticking the sensor and running its requests in process, as the daemon and the run launcher would, and
reading staleness as the UI does."""

import dagster as dg
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

from movie_assets.orchestration import EventLogResource, StorageResource, build_definitions

MOVIE = "demo-film"
GROUP = "video_audio_music"


def defs_of(root: str, **kwargs) -> dg.Definitions:
    """The code location over `root`, as `dagster dev` loads it."""
    return build_definitions(storage=StorageResource(url=root), events=EventLogResource(), **kwargs)


class Sensor:
    """Ticks the one sensor with its cursor carried over, as the daemon does."""

    def __init__(self, defs, instance, resources):
        self.defs, self.instance, self.resources = defs, instance, resources
        self.sensor = defs.resolve_sensor_def("movie_sensor")
        self.cursor = None

    def tick(self):
        context = dg.build_sensor_context(
            instance=self.instance, resources=self.resources, cursor=self.cursor, definitions=self.defs
        )
        result = self.sensor(context)
        self.cursor = result.cursor
        return result


def selected_names(request) -> set[str]:
    """The short names of the assets a run request selects."""
    return {key.path[-1] for key in request.asset_selection}


def dirty_partitions(store) -> set[tuple[str, str]]:
    """The producers of the planner's directly dirty jobs, as (producer, the movie's partition)."""
    plan = store.plan()
    return {(j.producer, store.movie_id) for j in plan.jobs if j.job_id in plan.directly_dirty}


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
