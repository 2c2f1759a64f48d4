"""Reconstructable entry point for multiprocess runs: definitions come from the environment."""

from movie_assets.orchestration import build_definitions
from movie_assets.orchestration.keys import regenerate_job_name

MOVIE = "cloud-film"


def regenerate_job():
    return build_definitions().resolve_job_def(regenerate_job_name(MOVIE))
