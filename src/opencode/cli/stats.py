"""`opencode stats`: tokens and cost from the store, by model and by day."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any


def main(args: argparse.Namespace) -> int:
    from opencode.cli.session import open_store

    store = open_store()
    try:
        rows = list(store.usage_rows())
    finally:
        store.close()
    since = None
    if args.days:
        since = (datetime.now() - timedelta(days=args.days)).timestamp() * 1000
    by_model: dict[str, dict[str, Any]] = defaultdict(_bucket)
    by_day: dict[str, dict[str, Any]] = defaultdict(_bucket)
    for provider_id, model_id, created, tokens, cost in rows:
        if since is not None and created < since:
            continue
        day = datetime.fromtimestamp(created / 1000).strftime("%Y-%m-%d")
        for bucket in (by_model[f"{provider_id}/{model_id}"], by_day[day]):
            bucket["messages"] += 1
            bucket["input"] += tokens.get("input", 0)
            bucket["output"] += tokens.get("output", 0)
            bucket["reasoning"] += tokens.get("reasoning", 0)
            cache = tokens.get("cache", {})
            bucket["cache_read"] += cache.get("read", 0)
            bucket["cache_write"] += cache.get("write", 0)
            bucket["cost"] += cost
    if args.format == "json":
        sys.stdout.write(json.dumps({"models": by_model, "days": by_day}, indent=2) + "\n")
        return 0
    if not by_model:
        sys.stdout.write("no usage recorded yet\n")
        return 0
    _table("MODEL", by_model)
    sys.stdout.write("\n")
    _table("DAY", dict(sorted(by_day.items())))
    return 0


def _bucket() -> dict[str, Any]:
    return {"messages": 0, "input": 0, "output": 0, "reasoning": 0, "cache_read": 0, "cache_write": 0, "cost": 0.0}


def _table(title: str, rows: dict[str, dict[str, Any]]) -> None:
    width = max(len(title), *(len(k) for k in rows))
    head = (
        f"{title:<{width}}  {'MSGS':>5}  {'INPUT':>10}  {'OUTPUT':>9}  {'REASON':>8}  "
        f"{'CACHE R':>10}  {'CACHE W':>9}  COST\n"
    )
    sys.stdout.write(head)
    total = _bucket()
    for key, b in rows.items():
        for name in total:
            total[name] += b[name]
        sys.stdout.write(_row(key, b, width))
    sys.stdout.write(_row("total", total, width))


def _row(key: str, b: dict[str, Any], width: int) -> str:
    return (
        f"{key:<{width}}  {b['messages']:>5}  {b['input']:>10,}  {b['output']:>9,}  {b['reasoning']:>8,}  "
        f"{b['cache_read']:>10,}  {b['cache_write']:>9,}  ${b['cost']:.4f}\n"
    )
