"""`opencode models [provider] [--verbose] [--refresh]`: list models as `provider/model` lines."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from typing import Any

from opencode import aio
from opencode.cli.runtime import CliError


def main(args: argparse.Namespace) -> int:
    from opencode.cli.context import load_context

    if args.refresh:
        refresh()
    ctx = load_context(args)
    registry = ctx.registry
    providers = sorted(registry.providers.values(), key=lambda p: p.id)
    if args.provider:
        if args.provider not in registry.providers:
            close = difflib.get_close_matches(args.provider, list(registry.providers), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else "; `opencode models` lists all"
            raise CliError(f"unknown provider {args.provider!r}{hint}")
        providers = [registry.providers[args.provider]]
    if any(p.local for p in providers):
        aio.run(registry.refresh_local_models())
    out = sys.stdout
    for provider in providers:
        for model_id in sorted(provider.models):
            out.write(f"{provider.id}/{model_id}\n")
            if args.verbose:
                out.write(json.dumps(describe(provider.models[model_id]), indent=2) + "\n")
    return 0


def describe(model: Any) -> dict[str, Any]:
    return {
        "id": model.id,
        "providerID": model.provider_id,
        "name": model.name,
        "limit": {"context": model.context, "output": model.output},
        "cost": {
            "input": model.cost.input,
            "output": model.cost.output,
            "cache_read": model.cost.cache_read,
            "cache_write": model.cost.cache_write,
        },
        "capabilities": {
            "tool_call": model.tool_call,
            "reasoning": model.reasoning,
            "attachment": model.attachment,
            "temperature": model.temperature,
        },
        "release_date": model.release_date,
        "status": model.status,
    }


def refresh() -> None:
    from opencode.provider.catalog import CatalogError, refresh_catalog

    url = os.environ.get("OPENCODE_MODELS_URL") or "https://models.dev/api.json"
    try:
        path = aio.run(refresh_catalog(url))
    except CatalogError as exc:
        sys.stderr.write(f"warning: could not refresh the model catalog ({exc}); using the copy on disk\n")
        return
    sys.stderr.write(f"model catalog refreshed: {path}\n")
