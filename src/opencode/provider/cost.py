"""Dollars for a model call, from normalised `Usage` and the catalog's prices.

Prices are per million tokens, as models.dev gives them. Reasoning tokens are billed at the
output price (every vendor does so) and counted once: adapters keep them out of `output`.
Cache reads and writes fall back to the input price when the catalog has no cache price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opencode.provider.catalog import Cost
    from opencode.provider.types import Usage

PER = 1_000_000


def cost_of(usage: Usage, cost: Cost | None) -> float:
    if cost is None:
        return 0.0
    cache_read = cost.input if cost.cache_read is None else cost.cache_read
    cache_write = cost.input if cost.cache_write is None else cost.cache_write
    dollars = (
        usage.input * cost.input
        + (usage.output + usage.reasoning) * cost.output
        + usage.cache_read * cache_read
        + usage.cache_write * cache_write
    ) / PER
    return round(dollars, 10)
