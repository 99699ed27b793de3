"""A short title for a session, from its first user message.

    title = await generate_title(small_model, first_message_text)

One non-streamed request to the (small) model with `title.txt` as the system prompt. Whatever
goes wrong (a provider error, a timeout, an answer that is empty once cleaned, a bug in an
adapter) the caller still gets a usable title: `fallback_title`, the first line of the message.
A title is never worth failing or delaying a session for, so retries are few and short.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

from opencode.agent import prompts

if TYPE_CHECKING:
    from opencode.provider.registry import ResolvedModel

log = logging.getLogger("opencode.agent.title")

MAX_INPUT_CHARS = 2000
MAX_TITLE_CHARS = 80
FALLBACK_CHARS = 50
EMPTY_TITLE = "New session"
ELLIPSIS = "…"
ASK = "Write a title for the conversation that starts with this message:"

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_PREFIX = re.compile(r"^(?:session\s+|conversation\s+|chat\s+)?title\s*[:：-]\s*", re.IGNORECASE)
_QUOTES = "\"'`“”‘’«»「」"


async def generate_title(model: ResolvedModel, user_text: str, *, timeout: float = 15) -> str:
    """A title from the model, or `fallback_title(user_text)`; never raises (except on cancellation)."""
    from opencode.provider.types import ModelRequest, TextPart, UserMessage

    text = user_text.strip()
    if not text:
        return EMPTY_TITLE
    if len(text) > MAX_INPUT_CHARS:
        text = text[:MAX_INPUT_CHARS] + "\n[...]"
    request = ModelRequest(
        model=model.info.id,
        system=[prompts.load("title")],
        messages=[UserMessage([TextPart(f"{ASK}\n\n{text}")])],
        # Reasoning models spend tokens thinking before the first word of the title.
        max_tokens=1024 if model.info.reasoning else 64,
    )
    policy = model.retry_policy()
    policy.attempts = min(policy.attempts, 2)
    policy.max_delay = min(policy.max_delay, 2.0)
    try:
        async with asyncio.timeout(timeout):
            response = await model.complete(request, policy=policy)
    except TimeoutError:
        log.info("title request to %s timed out after %ss; using the first line", model.ref, timeout)
        return fallback_title(user_text)
    except Exception as error:  # a ProviderError, or anything an adapter let slip: titles are best effort
        log.info("title request to %s failed (%s); using the first line", model.ref, error)
        return fallback_title(user_text)
    title = clean_title(response.text)
    return title or fallback_title(user_text)


def clean_title(raw: str) -> str:
    """The model's answer as a title: one line, no reasoning tags, quotes, Markdown or "Title:" prefix."""
    text = _THINK.sub("", raw)
    for candidate in text.splitlines():
        line = _strip_decoration(_PREFIX.sub("", _strip_decoration(candidate)))
        if line.endswith(".") and not line.endswith(".."):
            line = line[:-1].rstrip()
        line = " ".join(line.split())
        if line:
            return _cut(line, MAX_TITLE_CHARS)
    return ""


def fallback_title(user_text: str) -> str:
    """The first non-empty line of the message, at most 50 characters."""
    line = next((candidate.strip() for candidate in user_text.splitlines() if candidate.strip()), "")
    line = " ".join(line.split())
    return _cut(line, FALLBACK_CHARS) or EMPTY_TITLE


def _strip_decoration(text: str) -> str:
    """Drop Markdown heading marks, emphasis, list bullets and surrounding quotes."""
    # Bold marks and backticks never belong in a plain-text title; "_" may be part of a name (__init__.py).
    text = text.replace("**", "").replace("`", "").strip()
    previous = None
    while text != previous:
        previous = text
        text = re.sub(r"^(?:#{1,6}\s+|[-*+]\s+|>\s*)", "", text)
        for mark in ("__", "*", "_"):
            if len(text) > 2 * len(mark) and text.startswith(mark) and text.endswith(mark):
                text = text[len(mark) : -len(mark)]
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
            text = text[1:-1]
        text = text.strip()
    return text


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


__all__ = ["clean_title", "fallback_title", "generate_title"]
