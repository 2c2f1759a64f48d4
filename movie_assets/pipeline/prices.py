"""The price table: what one job of a provider's model costs, before anything runs.

Shipped as `movie_assets/prices.yaml`; a user's file of the same shape (MOVIE_ASSETS_PRICES) overrides
entries. A job whose provider and model are in neither is *unpriced*: estimates list it instead of
counting it as free.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from movie_assets.errors import InvalidValue


@functools.cache
def _table_adapter():
    """The price file's shape, provider -> model (or implementation) -> USD per job, checked by pydantic
    (a file people write). Built on first use."""
    from pydantic import TypeAdapter

    return TypeAdapter(dict[str, dict[str, float]])


@dataclass(frozen=True)
class PriceTable:
    """Checked prices (see `_parse`): provider -> model (or implementation) -> USD per job."""

    prices: dict[str, dict[str, float]] = field(default_factory=dict)

    def price(self, provider: str, model: str | None, implementation: str) -> float | None:
        """USD for one job, or None when the table does not know this provider and model."""
        row = self.prices.get(provider, {})
        for key in (model, implementation):
            if key is not None and key in row:
                return row[key]
        return None

    def merged(self, other: Mapping[str, Mapping[str, float]]) -> PriceTable:
        prices = {p: dict(row) for p, row in self.prices.items()}
        for provider, row in other.items():
            prices.setdefault(provider, {}).update(row)
        return PriceTable(prices=prices)


def _parse(text: str, where: str) -> dict[str, dict[str, float]]:
    from movie_assets.pipeline.safe_yaml import YamlError, load_yaml

    try:
        data = load_yaml(text, where)
    except YamlError as exc:
        raise InvalidValue(f"not a price table (provider: {{model: USD per job}}): {exc}") from None
    return _checked(data, where)


def _checked(data: object, where: str) -> dict[str, dict[str, float]]:
    try:
        table = _table_adapter().validate_python(data or {})
    except ValidationError as exc:
        raise InvalidValue(f"{where}: not a price table (provider: {{model: USD per job}}): {_said(exc)}") from None
    negative = [f"{p}/{m}" for p, row in table.items() for m, usd in row.items() if usd < 0]
    if negative:
        raise InvalidValue(f"{where}: negative prices for {', '.join(negative)}")
    return table


def _said(exc: Exception) -> str:
    """The problem on one line: `openai.gpt: Input should be a valid number, ...`."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'the file'}: {e['msg']}" for e in exc.errors())
    return " ".join(str(exc).split())


@functools.cache
def shipped_prices() -> PriceTable:
    text = importlib.resources.files("movie_assets").joinpath("prices.yaml").read_text("utf-8")
    return PriceTable(prices=_parse(text, "prices.yaml"))


def load_prices(override: str | Path | None = None) -> PriceTable:
    """The shipped table, with the entries of `override` (a YAML file) on top."""
    table = shipped_prices()
    if override:
        path = Path(override)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidValue(f"price table {path}: {exc.strerror or exc}") from None
        table = table.merged(_parse(text, str(path)))
    return table


@dataclass
class CostEstimate:
    """A plan's expected cost: the total, each priced job, and the jobs the table cannot price."""

    total: float = 0.0
    per_job: dict[str, float] = field(default_factory=dict)
    unpriced: list[str] = field(default_factory=list)


def estimate(jobs: Iterable, table: PriceTable) -> CostEstimate:
    """Sum the table's price of each job (JobDescriptors: provider, model, implementation)."""
    out = CostEstimate()
    for job in jobs:
        usd = table.price(job.provider, job.model, job.implementation)
        if usd is None:
            out.unpriced.append(job.job_id)
            continue
        out.per_job[job.job_id] = usd
        out.total += usd
    out.total = round(out.total, 6)
    return out


class ConsentNeeded(InvalidValue):
    """A plan costs more than the confirmation threshold and nobody has agreed to it; nothing has run."""

    def __init__(self, message: str, cost: CostEstimate) -> None:
        super().__init__(message)
        self.cost = cost


def check_spend(
    jobs: Iterable, table: PriceTable, max_cost: float | None, confirm_above: float | None, approved: bool = False
) -> CostEstimate:
    """The spending rule every face applies before anything runs: refuse above `max_cost`; above
    `confirm_above`, ConsentNeeded unless `approved`. The plan's estimate otherwise."""
    cost = estimate(jobs, table)
    unpriced = f" (+{len(cost.unpriced)} unpriced jobs)" if cost.unpriced else ""
    if max_cost is not None and cost.total > max_cost:
        raise InvalidValue(f"estimated ${cost.total:.4f}{unpriced} is above max cost ${max_cost:.4f}; nothing was run")
    if confirm_above is not None and cost.total > confirm_above and not approved:
        raise ConsentNeeded(
            f"estimated ${cost.total:.4f}{unpriced}, above the ${confirm_above:.2f} that needs consent; nothing ran",
            cost,
        )
    return cost
