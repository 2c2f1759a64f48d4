"""Maintenance as Dagster users expect it: a job that verifies every movie and collects its garbage, on
a nightly schedule (off until switched on in the UI: collecting garbage deletes files)."""

import dagster as dg

from movie_assets.errors import MovieAssetsError
from movie_assets.orchestration.resources import EventLogResource, StorageResource, settings_of

GRACE_SECONDS = 24 * 3600  # a blob younger than this is kept: a run in flight may be about to name it


@dg.op(description="Verify every movie of the root and collect the garbage of each (blobs no revision names).")
def verify_and_collect(context: dg.OpExecutionContext, storage: StorageResource, events: EventLogResource) -> None:
    settings = settings_of(storage, events)
    root = storage.context()
    problems, freed = [], 0
    for movie_id in root.list_movies():
        store = settings.movie_store(movie_id, root)
        try:
            report = store.verify()
            problems += [f"{movie_id}: {p}" for p in report.problems]
            gc = store.collect_garbage(GRACE_SECONDS)
            freed += gc.bytes_freed
            context.log.info(f"{movie_id}: {'ok' if report.ok else 'problems'}; gc freed {gc.bytes_freed} bytes")
        except MovieAssetsError as exc:  # one broken movie must not stop the others
            problems.append(f"{movie_id}: {exc}")
    context.log.info(f"freed {freed} bytes in all")
    if problems:
        raise dg.Failure(f"{len(problems)} problem(s): {'; '.join(problems)[:1000]}")


@dg.job(name="movie_assets_maintenance", description="Verify every movie and collect its garbage.")
def maintenance_job() -> None:
    verify_and_collect()


maintenance_schedule = dg.ScheduleDefinition(
    name="movie_assets_nightly",
    job=maintenance_job,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly at 03:00: verify every movie and collect its garbage (switch on in the UI).",
)
