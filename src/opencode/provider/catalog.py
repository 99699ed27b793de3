"""The model catalog: context windows, output limits, prices and abilities, in models.dev's format.

    catalog = load_catalog()
    catalog["anthropic"].models["claude-sonnet-4-5"].context   # 200000

A subset of models.dev's `api.json` ships with the package (`opencode.provider.data`,
`models.json`); `refresh_catalog` downloads the full file into the cache directory
(`<XDG_CACHE_HOME>/opencode/models.json`), and `load_catalog` prefers that copy when it is there
and well formed. Loading is plain `json` into slotted dataclasses: it runs at start-up.

Parsing is strict about the containers (an object of providers, each with an object of models)
and tolerant about fields: a model with a missing or odd field gets a neutral default, so a new
field or a sloppy entry upstream never stops the program. Prices are dollars per million tokens.

Left out: models.dev's tiered prices, reasoning options and benchmarks (not used yet).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

DEFAULT_URL = "https://models.dev/api.json"
CACHE_FILE = "models.json"


class CatalogError(Exception):
    """The catalog could not be read, downloaded or understood; the message is one line."""


@dataclass(slots=True)
class Cost:
    """Dollars per million tokens; no cache price means the input price applies."""

    input: float = 0
    output: float = 0
    cache_read: float | None = None
    cache_write: float | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Cost:
        if not isinstance(data, Mapping):
            return cls()
        return cls(
            input=_number(data.get("input")) or 0,
            output=_number(data.get("output")) or 0,
            cache_read=_number(data.get("cache_read")),
            cache_write=_number(data.get("cache_write")),
        )


@dataclass(slots=True)
class ModelInfo:
    id: str
    name: str
    provider_id: str
    context: int
    output: int
    cost: Cost
    tool_call: bool
    reasoning: bool
    attachment: bool
    temperature: bool
    input_modalities: tuple[str, ...]
    release_date: str | None
    knowledge: str | None
    status: str | None
    """models.dev's lifecycle mark: "alpha", "beta" or "deprecated"; None for a current model."""

    @classmethod
    def from_dict(cls, provider_id: str, model_id: str, data: Any) -> ModelInfo:
        data = data if isinstance(data, Mapping) else {}
        limit = data.get("limit") if isinstance(data.get("limit"), Mapping) else {}
        modalities = data.get("modalities") if isinstance(data.get("modalities"), Mapping) else {}
        inputs = modalities.get("input")
        return cls(
            id=model_id,
            name=_text(data.get("name")) or model_id,
            provider_id=provider_id,
            context=_count(limit.get("context")),
            output=_count(limit.get("output")),
            cost=Cost.from_dict(data.get("cost")),
            tool_call=_flag(data.get("tool_call"), False),
            reasoning=_flag(data.get("reasoning"), False),
            attachment=_flag(data.get("attachment"), False),
            # Absent means no known restriction: nearly every model takes a temperature.
            temperature=_flag(data.get("temperature"), True),
            input_modalities=tuple(m for m in inputs if isinstance(m, str)) if isinstance(inputs, list) else ("text",),
            release_date=_text(data.get("release_date")),
            knowledge=_text(data.get("knowledge")),
            status=_text(data.get("status")),
        )


@dataclass(slots=True)
class ProviderInfo:
    id: str
    name: str
    env: tuple[str, ...]
    api: str | None
    npm: str | None
    doc: str | None
    models: dict[str, ModelInfo] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, provider_id: str, data: Mapping[str, Any]) -> ProviderInfo:
        env = data.get("env")
        models = data.get("models") or {}
        return cls(
            id=provider_id,
            name=_text(data.get("name")) or provider_id,
            env=tuple(e for e in env if isinstance(e, str)) if isinstance(env, list) else (),
            api=_text(data.get("api")),
            npm=_text(data.get("npm")),
            doc=_text(data.get("doc")),
            models={str(mid): ModelInfo.from_dict(provider_id, str(mid), m) for mid, m in models.items()},
        )


def parse_catalog(data: Any) -> dict[str, ProviderInfo]:
    """Providers from a decoded api.json; raises CatalogError when the containers are not right."""
    if not isinstance(data, Mapping) or not data:
        raise CatalogError("not a catalog: expected a JSON object of providers")
    for pid, provider in data.items():
        if not isinstance(provider, Mapping):
            raise CatalogError(f"not a catalog: provider {pid!r} is not an object")
        models = provider.get("models", {})
        if not isinstance(models, Mapping) or not all(isinstance(m, Mapping) for m in models.values()):
            raise CatalogError(f"not a catalog: the models of provider {pid!r} are not objects")
    return {str(pid): ProviderInfo.from_dict(str(pid), provider) for pid, provider in data.items()}


def load_catalog(cache_dir: Path | None = None) -> dict[str, ProviderInfo]:
    """The refreshed copy in `cache_dir` when it is there and sound, else the copy shipped with the package."""
    cached = _cache_file(cache_dir)
    try:
        return parse_catalog(json.loads(cached.read_bytes()))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, CatalogError) as exc:
        # A half-written or foreign file must not break start-up; the shipped copy is always sound.
        log.warning("ignoring the cached model catalog %s: %s", cached, _one_line(exc))
    return parse_catalog(json.loads(shipped_catalog_bytes()))


def shipped_catalog_bytes() -> bytes:
    from importlib.resources import files

    return files("opencode.provider.data").joinpath(CACHE_FILE).read_bytes()


async def refresh_catalog(
    url: str = DEFAULT_URL,
    cache_dir: Path | None = None,
    client: httpx.AsyncClient | None = None,
) -> Path:
    """Download the catalog from `url` into the cache; on any failure raise CatalogError and change nothing."""
    import httpx

    from opencode.provider.http import make_client

    own = client is None
    http = make_client(connect_timeout=10.0, read_timeout=60.0) if client is None else client
    try:
        response = await http.get(url)
        if response.status_code != 200:
            raise CatalogError(f"could not refresh the model catalog from {url}: HTTP {response.status_code}")
        body = response.content
    except httpx.HTTPError as exc:
        raise CatalogError(f"could not refresh the model catalog from {url}: {_one_line(exc)}") from exc
    finally:
        if own:
            await http.aclose()
    try:
        parse_catalog(json.loads(body))
    except ValueError as exc:
        raise CatalogError(f"could not refresh the model catalog from {url}: the answer is not JSON") from exc
    except CatalogError as exc:
        raise CatalogError(f"could not refresh the model catalog from {url}: {exc}") from exc
    target = _cache_file(cache_dir)
    try:
        _write_atomically(target, body)
    except OSError as exc:
        raise CatalogError(f"could not write the model catalog to {target}: {_one_line(exc)}") from exc
    return target


def _cache_file(cache_dir: Path | None) -> Path:
    if cache_dir is None:
        from opencode.config.paths import paths

        cache_dir = paths().cache
    return cache_dir / CACHE_FILE


def _write_atomically(target: Path, data: bytes) -> None:
    # Write beside the target and rename, so a reader never sees half a file.
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _count(value: Any) -> int:
    number = _number(value)
    return int(number) if number is not None and number > 0 else 0


def _flag(value: Any, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


__all__ = [
    "DEFAULT_URL",
    "CatalogError",
    "Cost",
    "ModelInfo",
    "ProviderInfo",
    "load_catalog",
    "parse_catalog",
    "refresh_catalog",
]
