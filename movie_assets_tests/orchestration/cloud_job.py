"""Reconstructable entry points for multiprocess runs: definitions come from the environment.

A backfill run holds one partition; these jobs are the blueprint's loop assets and movie assets."""

import dagster as dg

from movie_assets.orchestration import build_definitions

MOVIE = "cloud-film"
GROUP = "video_audio_music"


def _job(name: str, multi: bool):
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    keys = [
        key
        for key in graph.materializable_asset_keys
        if key.path[0] == GROUP and isinstance(graph.get(key).partitions_def, dg.MultiPartitionsDefinition) == multi
    ]
    job = dg.define_asset_job(name, selection=keys)
    return dg.Definitions(
        assets=defs.assets, jobs=[job], resources=defs.resources, executor=defs.executor
    ).resolve_job_def(name)


def segment_job():
    return _job("cloud_segments", multi=True)


def movie_job():
    return _job("cloud_movie", multi=False)
