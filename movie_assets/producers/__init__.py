"""Producer implementations: offline media makers (default) and optional networked provider adapters."""

from movie_assets.producers.registry import ProducerRegistry, default_registry, make_produce

__all__ = ["ProducerRegistry", "default_registry", "make_produce"]
