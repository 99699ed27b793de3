"""Errors of the provider layer: one small tree, classified once as retryable or not.

    ProviderError
     ├── AuthError              401 / 403: key missing, wrong or without access
     ├── RateLimitError         429: too many requests                       (retryable)
     │    └── QuotaExceededError 429 that says the quota or credit is spent, or 402
     ├── OverloadedError        503 / 529: the vendor is overloaded           (retryable)
     ├── ServerError            500 / 502 / 504 and other 5xx                 (retryable)
     ├── ContextTooLongError    the prompt does not fit the model's window
     ├── BadRequestError        400 / 404 / 422: the vendor's own message
     ├── NetworkError           connection refused, reset, DNS, TLS           (retryable)
     ├── ProviderTimeout        connect / first byte / idle stream timed out  (retryable)
     └── StreamBroken           the response stream ended or broke mid-way    (retryable)

Adapters map HTTP statuses and transport exceptions here (`from_status`, `from_transport`);
nothing outside the adapters catches httpx exceptions. `str(error)` is the one line a user sees:
which provider, what went wrong, what to do.
"""

from __future__ import annotations

import re
from typing import Any


class ProviderError(Exception):
    retryable: bool = False
    what: str = "request failed"
    hint: str = ""

    def __init__(
        self,
        provider: str,
        message: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
        body: Any = None,
    ) -> None:
        self.provider = provider
        self.message = _one_line(message)
        self.status = status
        self.retry_after = retry_after
        self.body = body
        if hint is not None:
            self.hint = hint
        super().__init__(self.describe())

    def describe(self) -> str:
        """The whole line: what went wrong and what to do."""
        head = self.summary()
        if self.hint:
            head += f". {self.hint}"
        return head

    def summary(self) -> str:
        """What went wrong, without the advice (for "retrying in 4 s" lines)."""
        head = f"{self.provider}: {self.what}"
        if self.status is not None:
            head += f" ({self.status})"
        if self.message:
            head += f": {self.message}"
        return head


class AuthError(ProviderError):
    what = "authentication failed"

    def __init__(self, provider: str, message: str = "", **kw: Any) -> None:
        kw.setdefault(
            "hint",
            f"Check the API key: run `opencode auth login {provider}` or set the provider's key variable",
        )
        super().__init__(provider, message, **kw)


class RateLimitError(ProviderError):
    retryable = True
    what = "rate limited"
    hint = "Wait a moment and try again, or raise your rate limit with the provider"


class QuotaExceededError(RateLimitError):
    retryable = False
    what = "quota or credit exhausted"
    hint = "Add credit or raise the quota in the provider's console, or pick another model with -m"


class OverloadedError(ProviderError):
    retryable = True
    what = "overloaded"
    hint = "The provider is busy; try again shortly or pick another model with -m"


class ServerError(ProviderError):
    retryable = True
    what = "server error"
    hint = "The provider failed; try again shortly"


class ContextTooLongError(ProviderError):
    what = "prompt is too long for the model's context window"
    hint = "Start a new session, compact this one, or pick a model with a larger window"


class BadRequestError(ProviderError):
    what = "request rejected"
    hint = ""


class NetworkError(ProviderError):
    retryable = True
    what = "network error"
    hint = "Check the connection, the provider's base URL and any HTTPS_PROXY setting"


class ProviderTimeout(ProviderError):
    retryable = True
    what = "timed out"
    hint = "The provider did not answer in time; try again, or raise the provider's timeout option"


class StreamBroken(ProviderError):
    retryable = True
    what = "response stream broke"
    hint = "Try again"


_CONTEXT_PATTERNS = re.compile(
    r"context[_ ]length|context window|maximum context|too many tokens|prompt is too long|"
    r"input is too long|exceeds the (maximum|context)|max_tokens_exceeded|token limit|"
    r"request too large|input token count",
    re.IGNORECASE,
)
_QUOTA_PATTERNS = re.compile(
    r"insufficient_quota|quota|credit|billing|exceeded your current|out of credits|payment",
    re.IGNORECASE,
)


def from_status(
    provider: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    retry_after: float | None = None,
    body: Any = None,
) -> ProviderError:
    """Map an HTTP error status (and the vendor's message and error code) to our tree."""
    text = f"{code or ''} {message}"
    kw: dict[str, Any] = {"status": status, "retry_after": retry_after, "body": body}
    if status in (401, 403):
        return AuthError(provider, message, **kw)
    if status == 402:
        return QuotaExceededError(provider, message, **kw)
    if status == 429:
        if _QUOTA_PATTERNS.search(text) and "rate" not in (code or "").lower():
            return QuotaExceededError(provider, message, **kw)
        return RateLimitError(provider, message, **kw)
    if status in (503, 529) or "overloaded" in text.lower():
        return OverloadedError(provider, message, **kw)
    if status == 413 or _CONTEXT_PATTERNS.search(text):
        return ContextTooLongError(provider, message, **kw)
    if status >= 500:
        return ServerError(provider, message, **kw)
    if status == 404:
        return BadRequestError(
            provider,
            message or "not found",
            hint="Check the model id (`opencode models`) and the provider's base URL",
            **kw,
        )
    return BadRequestError(provider, message, **kw)


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= 400 else text[:397] + "..."
