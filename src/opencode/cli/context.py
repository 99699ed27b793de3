"""What most verbs need first: the merged config (warnings shown once) and the provider registry."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencode.config.load import LoadedConfig
    from opencode.provider.registry import Registry


@dataclass
class Context:
    cwd: Path
    loaded: LoadedConfig
    registry: Registry


def load_context(args: argparse.Namespace, *, cwd: Path | None = None) -> Context:
    from opencode.config import load_config
    from opencode.provider.registry import Registry

    cwd = (cwd or Path.cwd()).resolve()
    overrides: dict[str, Any] = {}
    if getattr(args, "model", None):
        overrides["model"] = args.model
    loaded = load_config(cwd, overrides=overrides or None)
    for warning in loaded.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    return Context(cwd=cwd, loaded=loaded, registry=Registry.load(loaded.config))
