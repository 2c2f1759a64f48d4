"""Dispatch from a job's (provider, implementation) to a producer function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from movie_assets.core.runner import ProduceFn, ProduceRequest, ProduceResult


class UnknownProducer(LookupError):
    """No implementation is registered for a job's provider and implementation."""


@dataclass
class ProducerRegistry:
    """Producer functions by provider, then implementation name. `offline` is always available."""

    providers: dict[str, dict[str, ProduceFn]] = field(default_factory=dict)
    fallback_to_offline: bool = True

    def register(self, provider: str, implementation: str, fn: ProduceFn) -> None:
        self.providers.setdefault(provider, {})[implementation] = fn

    def resolve(self, provider: str, implementation: str) -> ProduceFn:
        fn = self.providers.get(provider, {}).get(implementation)
        if fn is None and self.fallback_to_offline:
            fn = self.providers.get("offline", {}).get(implementation)
        if fn is None:
            raise UnknownProducer(f"no producer {implementation!r} for provider {provider!r}")
        return fn

    def __call__(self, request: ProduceRequest) -> ProduceResult:
        return self.resolve(request.job.provider, request.job.implementation)(request)


def default_registry(extra: Mapping[str, Mapping[str, ProduceFn]] | None = None) -> ProducerRegistry:
    """The offline producers, plus any provider plug-ins given."""
    from movie_assets.producers.offline import OFFLINE_PRODUCERS

    registry = ProducerRegistry({"offline": dict(OFFLINE_PRODUCERS)})
    for provider, fns in (extra or {}).items():
        for name, fn in fns.items():
            registry.register(provider, name, fn)
    return registry


def make_produce(extra: Mapping[str, Mapping[str, ProduceFn]] | None = None) -> ProduceFn:
    return default_registry(extra)
