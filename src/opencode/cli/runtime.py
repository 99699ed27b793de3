"""Runs a parsed command: logging, the verb's handler, and user errors turned into one line.

Every verb's handler is `main(args) -> int`. Exceptions that mean "the user asked for something
that cannot be done" (bad config, unknown model, missing key, provider refused) become one line
on stderr and exit code 1; a traceback is shown only for real bugs (and always with --print-logs).
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module

log = logging.getLogger("opencode")


class CliError(Exception):
    """A user error: printed as one line, exit code `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def setup_logging(args: argparse.Namespace) -> None:
    level_name = getattr(args, "log_level", None) or ("DEBUG" if getattr(args, "print_logs", False) else "INFO")
    level = {"WARN": logging.WARNING}.get(level_name, getattr(logging, level_name, logging.INFO))
    if getattr(args, "print_logs", False):
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    else:
        from opencode.config.paths import paths

        log_dir = paths().log_dir
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(log_dir / "opencode.log", delay=True, encoding="utf-8")
        except OSError:
            handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is meant for the user (imported only once a verb ran)."""
    kinds: list[type[BaseException]] = [CliError]
    for module, name in (
        ("opencode.config.errors", "ConfigError"),
        ("opencode.provider.errors", "ProviderError"),
        ("opencode.provider.registry", "ModelNotFound"),
        ("opencode.provider.registry", "NoCredentials"),
        ("opencode.provider.auth", "AuthStoreError"),
        ("opencode.provider.catalog", "CatalogError"),
    ):
        loaded = sys.modules.get(module)
        if loaded is not None:
            kinds.append(getattr(loaded, name))
    return tuple(kinds)


def dispatch(args: argparse.Namespace) -> int:
    setup_logging(args)
    module_name, _, func_name = args.handler.partition(":")
    try:
        handler = getattr(import_module(module_name), func_name)
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if isinstance(exc, user_errors()):
            log.debug("user error", exc_info=True)
            sys.stderr.write(f"error: {exc}\n")
            return getattr(exc, "code", 1) if isinstance(exc, CliError) else 1
        log.exception("unexpected error")
        raise
