"""`opencode auth login|list|logout` (alias `opencode providers`): manage provider credentials.

Keys go to `$XDG_DATA_HOME/opencode/auth.json` (mode 0600). `login` asks for the key without
echoing it, or reads it from stdin when piped (`echo $KEY | opencode auth login anthropic`).
`list` shows every credential in use and where it comes from, masked.
"""

from __future__ import annotations

import argparse
import difflib
import getpass
import sys
from typing import TYPE_CHECKING

from opencode.cli.runtime import CliError

if TYPE_CHECKING:
    from opencode.provider.registry import Registry


def main(args: argparse.Namespace) -> int:
    if args.action == "login":
        return login(args.provider_flag or args.provider)
    if args.action in ("list", "ls"):
        return list_credentials()
    return logout(args.provider)


def _registry() -> Registry:
    from opencode.config import load_config
    from opencode.provider.registry import Registry

    loaded = load_config()
    return Registry.load(loaded.config)


def _check_provider(provider: str, known: list[str]) -> None:
    if provider in known:
        return
    close = difflib.get_close_matches(provider, known, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else "; `opencode models` lists providers"
    raise CliError(f"unknown provider {provider!r}{hint}")


def login(provider: str | None) -> int:
    from opencode.provider import auth

    registry = _registry()
    known = sorted(p.id for p in registry.providers.values() if not p.local)
    interactive = sys.stdin.isatty()
    if not provider:
        if not interactive:
            raise CliError("auth login: name the provider when stdin is not a terminal, e.g. `auth login anthropic`")
        sys.stderr.write("Providers: " + ", ".join(known) + "\n")
        provider = input("Provider: ").strip()
    _check_provider(provider, known)
    entry = registry.providers[provider]
    if entry.doc:
        sys.stderr.write(f"Get a key at {entry.doc}\n")
    key = getpass.getpass(f"API key for {entry.name}: ") if interactive else sys.stdin.readline()
    key = key.strip()
    if not key:
        raise CliError("auth login: no key given; nothing stored")
    path = auth.set_api_key(provider, key)
    sys.stdout.write(f"Stored the key for {provider} ({auth.mask(key)}) in {path}\n")
    return 0


def list_credentials() -> int:
    from opencode.provider import auth

    registry = _registry()
    sys.stdout.write(f"Credentials ({auth.auth_file()}):\n")
    rows = [
        (p.id, auth.mask(p.api_key), p.key_source or "")
        for p in sorted(registry.providers.values(), key=lambda p: p.id)
        if p.api_key
    ]
    stored = auth.read_all()
    for provider_id, entry in sorted(stored.items()):
        if entry.get("type") != "api" and not any(r[0] == provider_id for r in rows):
            rows.append((provider_id, str(entry.get("type", "?")), "auth.json"))
    if not rows:
        sys.stdout.write("  none: run `opencode auth login <provider>` or set a key variable\n")
        return 0
    width = max(len(r[0]) for r in rows)
    for provider_id, masked, source in rows:
        sys.stdout.write(f"  {provider_id:<{width}}  {masked:<14} {source}\n")
    return 0


def logout(provider: str | None) -> int:
    from opencode.provider import auth

    stored = auth.read_all()
    if not stored:
        raise CliError(f"no stored credentials in {auth.auth_file()}")
    if not provider:
        if not sys.stdin.isatty():
            raise CliError("auth logout: name the provider, one of: " + ", ".join(sorted(stored)))
        sys.stderr.write("Stored: " + ", ".join(sorted(stored)) + "\n")
        provider = input("Provider: ").strip()
    if not auth.remove(provider):
        _check_provider(provider, sorted(stored))
    sys.stdout.write(f"Removed the stored credential for {provider}\n")
    return 0
