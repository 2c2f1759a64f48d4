"""Producer implementations: offline media makers (default) and optional networked provider adapters."""

from movie_assets.producers.registry import ProducerRegistry, default_registry, make_produce, registry_from_environ

__all__ = ["ProducerRegistry", "default_registry", "make_produce", "registry_from_environ"]
