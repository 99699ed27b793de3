"""Which providers and models exist for this user, and how to call one.

The registry joins four sources: the vendor table (`vendors.py`: protocol, base URL, key
variables), the model catalog (`catalog.py`, models.dev's data), the user's config (`provider`
entries: options, extra models, whole custom providers such as any OpenAI-compatible server)
and credentials (config `options.apiKey`, then `auth.json`, then the vendor's key variables).

    registry = Registry.load(config)
    model = registry.resolve("anthropic/claude-sonnet-4-5")
    async for event in model.stream(request): ...

Nothing here touches the network except `refresh_local_models`, which asks local servers
(ollama, LM Studio, llama.cpp) what they serve, and the calls made through `ResolvedModel`.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opencode.provider import auth
from opencode.provider.catalog import Cost, ModelInfo, ProviderInfo, load_catalog
from opencode.provider.vendors import VENDORS, Vendor, protocol_for_npm

if TYPE_CHECKING:
    from opencode.config.schema import Config, ProviderConfig
    from opencode.provider.adapters.base import Adapter, Endpoint
    from opencode.provider.retry import RetryPolicy
    from opencode.provider.types import ModelRequest, ModelResponse, StreamEvent


class ModelNotFound(Exception):
    """A `provider/model` reference that names nothing known; the message suggests close names."""


class NoCredentials(Exception):
    """The provider needs a key and none is configured; the message says how to add one."""


@dataclass
class ProviderEntry:
    id: str
    name: str
    protocol: str
    base_url: str
    env: tuple[str, ...] = ()
    api_key: str | None = None
    key_source: str | None = None
    """Where the key came from: "config", "auth.json" or "env NAME"; None when there is none."""
    headers: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    models: dict[str, ModelInfo] = field(default_factory=dict)
    model_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per-model request options from config (`provider.<id>.models.<id>.options`)."""
    local: bool = False
    key_optional: bool = False
    custom: bool = False
    doc: str = ""

    @property
    def connected(self) -> bool:
        """Usable now: it has a key, or needs none (local servers, Bedrock with AWS credentials)."""
        return self.api_key is not None or self.key_optional


@dataclass
class ResolvedModel:
    """One model of one provider, ready to call."""

    provider: ProviderEntry
    info: ModelInfo
    _shared: Adapter | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.provider.id}/{self.info.id}"

    def endpoint(self) -> Endpoint:
        from opencode.provider.adapters.base import Endpoint, Timeouts

        timeouts = Timeouts()
        timeout = self.provider.options.get("timeout")
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
            timeouts.first_byte = timeout / 1000.0  # opencode's `timeout` is in milliseconds
        return Endpoint(
            provider_id=self.provider.id,
            base_url=self.provider.base_url,
            api_key=self.provider.api_key,
            headers=dict(self.provider.headers),
            options=dict(self.provider.options),
            timeouts=timeouts,
        )

    def adapter(self, endpoint: Endpoint | None = None) -> Adapter:
        from opencode.provider.adapters import adapter_class

        return adapter_class(self.provider.protocol)(endpoint or self.endpoint())

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[ResolvedModel]:
        """Within this block every call shares one adapter and its HTTP client, so the connection
        to the provider is reused from one step to the next; it is closed at the end."""
        if self._shared is not None:  # nested: the outer block owns the client
            yield self
            return
        self._shared = self.adapter()
        try:
            yield self
        finally:
            adapter, self._shared = self._shared, None
            if adapter.endpoint.client is not None:
                await adapter.endpoint.client.aclose()

    @contextlib.asynccontextmanager
    async def _adapter(self) -> AsyncIterator[Adapter]:
        """The shared adapter inside `connected()`, else one of its own, closed after the call."""
        if self._shared is not None:
            yield self._shared
            return
        adapter = self.adapter()
        try:
            yield adapter
        finally:
            if adapter.endpoint.client is not None:
                await adapter.endpoint.client.aclose()

    def request_options(self) -> dict[str, Any]:
        return dict(self.provider.model_options.get(self.info.id, {}))

    def retry_policy(self) -> RetryPolicy:
        from opencode.provider.retry import RetryPolicy

        return RetryPolicy.from_options(self.provider.options)

    async def stream(self, request: ModelRequest, *, policy: RetryPolicy | None = None) -> AsyncIterator[StreamEvent]:
        """Stream a reply with retries; `Finish` carries the cost; a final error is a `StreamFailed`."""
        from opencode.provider.cost import cost_of
        from opencode.provider.retry import stream_with_retry
        from opencode.provider.types import Finish

        async with self._adapter() as adapter:
            async for event in stream_with_retry(lambda: adapter.stream(request), policy or self.retry_policy()):
                if isinstance(event, Finish):
                    event.cost = cost_of(event.usage, self.info.cost)
                yield event

    async def complete(self, request: ModelRequest, *, policy: RetryPolicy | None = None) -> ModelResponse:
        """A non-streamed reply with retries; raises the final `ProviderError`."""
        from opencode.provider.cost import cost_of
        from opencode.provider.retry import call_with_retry

        async with self._adapter() as adapter:
            response: ModelResponse = await call_with_retry(
                lambda: adapter.complete(request), policy or self.retry_policy()
            )
        response.cost = cost_of(response.usage, self.info.cost)
        return response


class Registry:
    def __init__(self, providers: dict[str, ProviderEntry], config_model: str | None = None) -> None:
        self.providers = providers
        self.config_model = config_model

    @classmethod
    def load(
        cls,
        config: Config | None = None,
        *,
        catalog: Mapping[str, ProviderInfo] | None = None,
        environ: Mapping[str, str] | None = None,
        credentials: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Registry:
        environ = os.environ if environ is None else environ
        catalog = load_catalog() if catalog is None else catalog
        stored = auth.read_all() if credentials is None else credentials
        configured: dict[str, ProviderConfig] = dict(config.provider or {}) if config is not None else {}

        ids = list(dict.fromkeys([*VENDORS, *catalog, *configured]))
        enabled = set(config.enabled_providers) if config is not None and config.enabled_providers else None
        disabled = set(config.disabled_providers or []) if config is not None else set()
        providers: dict[str, ProviderEntry] = {}
        for pid in ids:
            if pid in disabled or (enabled is not None and pid not in enabled):
                continue
            entry = _build_entry(pid, VENDORS.get(pid), catalog.get(pid), configured.get(pid), environ, stored)
            if entry is not None:
                providers[pid] = entry
        return cls(providers, config.model if config is not None else None)

    # --- lookups --------------------------------------------------------------------------

    def connected(self) -> list[ProviderEntry]:
        return [p for p in self.providers.values() if p.connected and p.models]

    def resolve(self, ref: str) -> ResolvedModel:
        provider_id, sep, model_id = ref.partition("/")
        if not sep or not provider_id or not model_id:
            raise ModelNotFound(f"model {ref!r} must be written provider/model, e.g. anthropic/claude-sonnet-4-5")
        provider = self.providers.get(provider_id)
        if provider is None:
            close = difflib.get_close_matches(provider_id, list(self.providers), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else "; `opencode models` lists them"
            raise ModelNotFound(f"unknown provider {provider_id!r}{hint}")
        info = provider.models.get(model_id)
        if info is None:
            if provider.local or provider.custom:
                # Local and custom servers serve models the catalog cannot know about.
                info = ModelInfo.from_dict(provider.id, model_id, {"name": model_id})
            else:
                close = difflib.get_close_matches(model_id, list(provider.models), n=3)
                hint = (
                    f" (did you mean {', '.join(close)}?)" if close else f"; `opencode models {provider_id}` lists them"
                )
                raise ModelNotFound(f"unknown model {model_id!r} for provider {provider_id}{hint}")
        if not provider.connected:
            names = " or ".join(provider.env) if provider.env else "its key variable"
            raise NoCredentials(f"{provider.id}: no API key. Run `opencode auth login {provider.id}` or set {names}")
        return ResolvedModel(provider, info)

    def default_model(self) -> str | None:
        """The config's `model`, else the newest capable model of the first connected provider."""
        if self.config_model:
            return self.config_model
        for provider in self.connected():
            best = _best_model(provider)
            if best is not None:
                return f"{provider.id}/{best}"
        return None

    async def refresh_local_models(self, timeout: float = 1.0) -> None:
        """Ask the local servers that answer which models they serve (in parallel)."""
        import asyncio

        from opencode.provider.local import list_local_models

        local = [p for p in self.providers.values() if p.local]

        async def one(provider: ProviderEntry) -> None:
            found = await list_local_models(provider.base_url, timeout=timeout, api_key=provider.api_key)
            for model_id in found:
                provider.models.setdefault(model_id, ModelInfo.from_dict(provider.id, model_id, {"name": model_id}))

        await asyncio.gather(*(one(p) for p in local))


def _build_entry(
    pid: str,
    vendor: Vendor | None,
    info: ProviderInfo | None,
    conf: ProviderConfig | None,
    environ: Mapping[str, str],
    stored: Mapping[str, Mapping[str, Any]],
) -> ProviderEntry | None:
    options: dict[str, Any] = {}
    if conf is not None and conf.options is not None:
        options = conf.options.model_dump(exclude_none=True, by_alias=True)
    npm = (conf.npm if conf is not None else None) or (info.npm if info else None) or (vendor.npm if vendor else None)
    protocol = vendor.protocol if vendor is not None else protocol_for_npm(npm)
    if conf is not None and conf.npm and vendor is None:
        protocol = protocol_for_npm(conf.npm)
    if protocol is None:
        if conf is None:
            return None  # a catalog provider whose wire protocol we do not speak
        protocol = "openai-chat"  # config without npm: the lingua franca of model servers
    base_url = (
        options.pop("baseURL", None)
        or (conf.api if conf is not None else None)
        or (vendor.base_url if vendor else None)
        or (info.api if info else None)
        or ""
    )
    env = tuple(
        (conf.env if conf is not None and conf.env else None)
        or (vendor.env if vendor else ())
        or (info.env if info else ())
    )
    key, source = _find_key(pid, options.pop("apiKey", None), env, environ, stored)
    headers = {str(k): str(v) for k, v in (options.pop("headers", None) or {}).items()}
    if protocol == "azure" and not base_url and "resourceName" not in options and environ.get("AZURE_RESOURCE_NAME"):
        options["resourceName"] = environ["AZURE_RESOURCE_NAME"]

    models: dict[str, ModelInfo] = dict(info.models) if info else {}
    model_options: dict[str, dict[str, Any]] = {}
    if conf is not None and conf.models:
        for model_id, model_conf in conf.models.items():
            data = model_conf.model_dump(exclude_none=True, by_alias=True)
            if data.get("options"):
                model_options[model_id] = dict(data["options"])
            base = models.get(model_id)
            models[model_id] = _merge_model(pid, model_id, base, data)
    if conf is not None and conf.whitelist:
        models = {k: v for k, v in models.items() if k in set(conf.whitelist)}
    if conf is not None and conf.blacklist:
        models = {k: v for k, v in models.items() if k not in set(conf.blacklist)}

    name = (conf.name if conf is not None and conf.name else None) or (vendor.name if vendor else None)
    name = name or (info.name if info else pid)
    key_optional = bool(vendor and (vendor.key_optional or vendor.local))
    if protocol == "bedrock" and key is None:
        key_optional = bool(options.get("accessKeyId") or environ.get("AWS_ACCESS_KEY_ID"))
    if conf is not None and vendor is None and key is None and base_url.startswith(("http://127.", "http://localhost")):
        key_optional = True  # a custom server on this machine usually wants no key
    return ProviderEntry(
        id=pid,
        name=name,
        protocol=protocol,
        base_url=base_url,
        env=env,
        api_key=key,
        key_source=source,
        headers=headers,
        options=options,
        models=models,
        model_options=model_options,
        local=bool(vendor and vendor.local),
        key_optional=key_optional,
        custom=vendor is None and info is None,
        doc=(vendor.doc if vendor else "") or (info.doc or "" if info else ""),
    )


def _find_key(
    pid: str,
    configured: Any,
    env: tuple[str, ...],
    environ: Mapping[str, str],
    stored: Mapping[str, Mapping[str, Any]],
) -> tuple[str | None, str | None]:
    if isinstance(configured, str) and configured:
        return configured, "config"
    entry = stored.get(pid)
    if entry and entry.get("type") == "api" and isinstance(entry.get("key"), str) and entry["key"]:
        return str(entry["key"]), "auth.json"
    for name in env:
        value = environ.get(name)
        if value:
            return value, f"env {name}"
    return None, None


def _merge_model(pid: str, model_id: str, base: ModelInfo | None, data: dict[str, Any]) -> ModelInfo:
    """A model from config, laid over the catalog's entry of the same id when there is one."""
    if base is None:
        return ModelInfo.from_dict(pid, model_id, data)
    merged = ModelInfo.from_dict(pid, model_id, data)
    limit = data.get("limit") or {}
    cost = data.get("cost")
    return ModelInfo(
        id=model_id,
        name=data.get("name") or base.name,
        provider_id=pid,
        context=limit.get("context") or base.context,
        output=limit.get("output") or base.output,
        cost=merged.cost if cost else base.cost,
        tool_call=data.get("tool_call", base.tool_call),
        reasoning=data.get("reasoning", base.reasoning),
        attachment=data.get("attachment", base.attachment),
        temperature=data.get("temperature", base.temperature),
        input_modalities=base.input_modalities,
        release_date=base.release_date,
        knowledge=base.knowledge,
        status=base.status,
    )


def _best_model(provider: ProviderEntry) -> str | None:
    """The newest tool-calling model that is not deprecated."""
    candidates = [m for m in provider.models.values() if m.tool_call and m.status != "deprecated"]
    if not candidates:
        candidates = list(provider.models.values())
    if not candidates:
        return None
    candidates.sort(key=lambda m: (m.release_date or "", m.context), reverse=True)
    return candidates[0].id


__all__ = ["Cost", "ModelNotFound", "NoCredentials", "ProviderEntry", "Registry", "ResolvedModel"]
