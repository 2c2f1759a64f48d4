"""A reconstructable entry point for multiprocess runs: the definitions come from the environment, and the
job is the blueprint's `<group>_regenerate` job, as a sensor's run or a Launchpad launch uses it."""

from movie_assets.orchestration import build_definitions

MOVIE = "cloud-film"
GROUP = "audio_only"  # five steps an edit: each a process of its own


def regenerate_job():
    return build_definitions().resolve_job_def(f"{GROUP}_regenerate")
