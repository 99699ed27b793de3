"""Azure OpenAI: Chat Completions on a deployment, with Azure's URL, key header and quirks.

`POST {base}/deployments/{deployment}/chat/completions?api-version={apiVersion}` with an
`api-key` header. The model id of the request is the deployment name. The base URL is the
provider's `baseURL`, or `https://{resourceName}.openai.azure.com/openai` from the provider
option `resourceName`. `apiVersion` defaults to the GA version 2024-10-21, the first GA version
that takes `stream_options`. A Microsoft Entra token instead of a key goes in the provider's
headers (`Authorization: Bearer ...`) with no key set.

The body and the stream are OpenAI's (see `openai_chat`); Azure adds a first chunk with empty
choices and `prompt_filter_results`, which the parser skips, and ends a filtered reply with
`finish_reason: "content_filter"`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from opencode.provider import errors
from opencode.provider.adapters.openai_chat import OpenAIChatAdapter
from opencode.provider.retry import retry_after_from_headers
from opencode.provider.types import ModelRequest

DEFAULT_API_VERSION = "2024-10-21"


class AzureOpenAIAdapter(OpenAIChatAdapter):
    protocol = "azure"

    def base(self) -> str:
        base = self.endpoint.base_url.rstrip("/")
        if base:
            return base
        resource = self.endpoint.options.get("resourceName")
        if not resource:
            raise errors.BadRequestError(
                self.provider,
                "no endpoint configured",
                hint="Set the provider's baseURL or its resourceName option (the Azure OpenAI resource's name)",
            )
        return f"https://{resource}.openai.azure.com/openai"

    def url(self, request: ModelRequest) -> str:
        version = self.endpoint.options.get("apiVersion") or DEFAULT_API_VERSION
        deployment = quote(request.model, safe="")
        return f"{self.base()}/deployments/{deployment}/chat/completions?api-version={quote(str(version), safe='')}"

    def headers(self) -> dict[str, str]:
        return self.json_headers("api-key", "")

    def http_error(self, status: int, headers: Any, raw: bytes) -> errors.ProviderError:
        error = super().http_error(status, headers, raw)
        # Azure's 429 says "exceeded token rate limit ... https://aka.ms/oai/quotaincrease": a rate
        # limit to wait out, not spent credit, unless the code says so.
        if isinstance(error, errors.QuotaExceededError):
            _, code = self.error_message(raw)
            if code != "insufficient_quota":
                return errors.RateLimitError(
                    self.provider,
                    error.message,
                    status=status,
                    retry_after=retry_after_from_headers(headers),
                    body=error.body,
                )
        return error
