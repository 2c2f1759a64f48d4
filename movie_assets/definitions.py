"""`dagster dev` entry point (workspace.yaml): every movie under $MOVIE_ASSETS_ROOT (default ./builds)."""

from movie_assets.orchestration import build_definitions

defs = build_definitions()
