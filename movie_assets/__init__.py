"""movie_assets: AI-made movies on a manifest-centric, content-addressed store."""

__version__ = "0.1.0"
