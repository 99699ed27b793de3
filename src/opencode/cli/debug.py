"""`opencode debug config|paths|permission|lsp`: what OpenCode sees, for troubleshooting."""

from __future__ import annotations

import argparse
import json
import sys


def main(args: argparse.Namespace) -> int:
    if args.action == "permission":
        from opencode.cli.permission import main as permission_main

        return permission_main(args)
    if args.action == "lsp":
        from opencode.cli.debug_lsp import main as lsp_main

        return lsp_main(args)
    if args.action == "paths":
        from opencode.config.paths import paths

        for name, path in paths().as_dict().items():
            sys.stdout.write(f"{name:<7} {path}\n")
        return 0
    from opencode.cli.context import load_context
    from opencode.config import mask_secrets

    ctx = load_context(args)
    data = ctx.loaded.config.model_dump(mode="json", by_alias=True, exclude_none=True)
    sys.stdout.write(json.dumps(mask_secrets(data), indent=2) + "\n")
    if ctx.loaded.sources:
        sys.stderr.write("sources (lowest first): " + ", ".join(ctx.loaded.sources) + "\n")
    return 0
