"""The web viewer: `movie-assets view`."""

from movie_assets.viewer.app import create_app

__all__ = ["create_app"]
