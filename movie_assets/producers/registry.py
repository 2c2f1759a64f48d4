"""Dispatch from a job's (provider, implementation) to a producer function."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from movie_assets.errors import ProducerError, UnknownProducer, redact
from movie_assets.pipeline.models import JobDescriptor
from movie_assets.pipeline.produce import ProduceFn, ProduceRequest, ProduceResult
from movie_assets.producers.providers import OFFLINE, Provider, credentials_from, discover_providers


@dataclass
class ProducerRegistry:
    """Producer functions by provider, then implementation name. `offline` is always available.

    A job whose provider is not configured fails with a clear error, unless `offline_fallback` is set:
    then the offline producer runs and the artefact event records `requested_provider`. (The job
    signature does not include the provider, so bump the producer version to redo such results with
    the real provider later.)
    """

    providers: dict[str, dict[str, ProduceFn]] = field(default_factory=dict)
    offline_fallback: bool = False
    hints: dict[str, str] = field(default_factory=dict)  # provider -> how to configure it
    _offline_loaded: bool = field(default=False, repr=False)

    def register(self, provider: str, implementation: str, fn: ProduceFn) -> None:
        self.providers.setdefault(provider, {})[implementation] = fn

    def table(self, provider: str) -> dict[str, ProduceFn]:
        """The producers of one provider. The offline ones are imported on first use: they load PIL,
        numpy and imageio, which a plan or a no-op regenerate never needs (half its start-up)."""
        if provider == OFFLINE and not self._offline_loaded:
            from movie_assets.producers.offline import OFFLINE_PRODUCERS

            table = self.providers.setdefault(OFFLINE, {})
            for name, fn in OFFLINE_PRODUCERS.items():
                table.setdefault(name, fn)  # an implementation registered under offline stays
            self._offline_loaded = True
        return self.providers.get(provider, {})

    def _lookup(self, provider: str, implementation: str) -> tuple[ProduceFn | None, bool]:
        fn = self.table(provider).get(implementation)
        if fn is None and self.offline_fallback and provider != OFFLINE:
            return self.table(OFFLINE).get(implementation), True
        return fn, False

    def resolve(self, provider: str, implementation: str) -> ProduceFn:
        fn, fallback = self._lookup(provider, implementation)
        if fn is None:
            raise UnknownProducer(self._explain(provider, implementation))
        if fallback:
            return _recording_fallback(fn, provider)
        return fn

    def _explain(self, provider: str, implementation: str) -> str:
        if provider in self.providers or provider == OFFLINE:
            offered = ", ".join(sorted(self.table(provider))) or "nothing"
            return f"provider {provider!r} has no producer {implementation!r} (it offers {offered})"
        hint = self.hints.get(provider, "no such provider is installed")
        return f"provider {provider!r} is not configured ({hint}); or run offline (--offline)"

    def missing(self, jobs: Iterable[JobDescriptor]) -> dict[str, list[str]]:
        """Problems that would stop the given jobs, as message -> job ids; empty when all can run."""
        out: dict[str, list[str]] = {}
        for job in jobs:
            fn, _ = self._lookup(job.provider, job.implementation)
            if fn is None:
                out.setdefault(self._explain(job.provider, job.implementation), []).append(job.job_id)
        return out

    def __call__(self, request: ProduceRequest) -> ProduceResult:
        return self.resolve(request.job.provider, request.job.implementation)(request)


def _recording_fallback(fn: ProduceFn, requested: str) -> ProduceFn:
    def produce(request: ProduceRequest) -> ProduceResult:
        result = fn(request)
        return replace(result, diagnostics={**result.diagnostics, "provider": OFFLINE, "requested_provider": requested})

    return produce


def _redacting(fn: ProduceFn, secrets: list[str]) -> ProduceFn:
    """`fn`, whose failures never carry a credential: an error body that echoes request headers (gateways
    and proxies do) would otherwise reach the artefact log, the progress file and the terminal."""

    def produce(request: ProduceRequest) -> ProduceResult:
        try:
            return fn(request)
        except Exception as exc:
            safe = redact(str(exc), secrets)
            if safe == str(exc):
                raise
            raise ProducerError(redact(f"{type(exc).__name__}: {exc}", secrets)) from None

    return produce


def default_registry(
    extra: Mapping[str, Mapping[str, ProduceFn]] | None = None,
    credentials: Mapping[str, Mapping[str, str]] | None = None,
    offline_fallback: bool = False,
    providers: Mapping[str, Provider] | None = None,
) -> ProducerRegistry:
    """The offline producers, every provider (default: discovered) given its `credentials`, and `extra`
    functions. The registry is the runner's `produce` function."""
    registry = ProducerRegistry(offline_fallback=offline_fallback)
    for name, provider in (discover_providers() if providers is None else providers).items():
        registry.hints[name] = f"set {', '.join(provider.credentials)}" if provider.credentials else "no credentials"
        if name in (credentials or {}):
            secrets = [credentials[name][key] for key in provider.credentials if key in credentials[name]]  # type: ignore[index]
            for implementation, fn in provider.build(credentials[name]).items():  # type: ignore[index]
                registry.register(name, implementation, _redacting(fn, secrets))
    for provider_name, fns in (extra or {}).items():
        for implementation, fn in fns.items():
            registry.register(provider_name, implementation, fn)
    return registry


def registry_from_environ(environ: Mapping[str, str], offline_fallback: bool = False) -> ProducerRegistry:
    """Every provider whose credentials are set in `environ`, which the entry layer (CLI, Dagster
    definitions) hands in: nothing below it reads the environment."""
    found = discover_providers()
    return default_registry(
        credentials=credentials_from(environ, found), offline_fallback=offline_fallback, providers=found
    )


def describe_missing(problems: Mapping[str, list[str]], limit: int = 5) -> list[str]:
    """One line per problem `ProducerRegistry.missing` found, with the first job ids it stops."""
    return [f"{why}: {', '.join(sorted(jobs)[:limit])}{' ...' * (len(jobs) > limit)}" for why, jobs in problems.items()]
