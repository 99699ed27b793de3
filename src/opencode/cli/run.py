"""`opencode run [message..]`: send one message to a model and print the reply as it streams.

The engine issue turns this into a full agent turn (tools, sessions); here it is one model call
with retries, attachments (`-f`), the agent's prompt and settings from config, and two output
formats: plain text, or one JSON object per event (`--format json`) for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mimetypes
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from opencode.cli.runtime import CliError

if TYPE_CHECKING:
    from opencode.cli.context import Context
    from opencode.provider.registry import ResolvedModel
    from opencode.provider.types import Message, ModelRequest, Retrying, StreamEvent, UserContent

# Attachments the model receives as files rather than text.
BINARY_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf")
MAX_TEXT_ATTACHMENT = 256 * 1024


@dataclass
class TurnResult:
    text: str
    ok: bool


def main(args: argparse.Namespace) -> int:
    from opencode.cli.context import load_context

    if args.dir:
        target = Path(args.dir).expanduser()
        if not target.is_dir():
            raise CliError(f"--dir {args.dir}: not a directory")
        os.chdir(target)
    message = " ".join(args.message).strip()
    if not sys.stdin.isatty():
        piped = sys.stdin.read()
        message = f"{message}\n\n{piped}".strip() if message else piped.strip()
    if not message and not args.file:
        raise CliError('no message: pass it as arguments (opencode run "fix the tests") or on stdin', code=2)
    parts = [*attachments(args.file), *([text_part(message)] if message else [])]
    ctx = load_context(args)
    model = pick_model(ctx, args)
    from opencode.provider.types import UserMessage

    request = build_request(ctx, model, [UserMessage(parts)], args.agent)
    result = asyncio.run(stream_turn(model, request, sys.stdout, fmt=args.format, thinking=args.thinking))
    return 0 if result.ok else 1


def pick_model(ctx: Context, args: argparse.Namespace) -> ResolvedModel:
    """-m wins, then the agent's model, then config `model`, then the first connected provider's best."""
    ref = getattr(args, "model", None)
    agent = agent_config(ctx, getattr(args, "agent", None))
    if not ref and agent is not None and agent.model:
        ref = agent.model
    ref = ref or ctx.registry.default_model()
    if not ref:
        raise CliError(
            "no model configured and no provider connected: run `opencode auth login`, set a key variable "
            "such as ANTHROPIC_API_KEY, or run `opencode` for a guide"
        )
    return ctx.registry.resolve(ref)


def agent_config(ctx: Context, name: str | None) -> Any:
    if not name:
        return None
    agents = ctx.loaded.config.agent or {}
    if name in agents:
        return agents[name]
    if name in ("build", "plan", "general"):
        return None  # built-in agents without overrides: defaults apply
    known = ", ".join(sorted({"build", "plan", "general", *agents}))
    raise CliError(f"--agent {name}: no such agent (known: {known})")


def build_request(ctx: Context, model: ResolvedModel, messages: list[Message], agent_name: str | None) -> ModelRequest:
    from opencode.provider.types import ModelRequest

    agent = agent_config(ctx, agent_name)
    system = [base_prompt(ctx.cwd)]
    options = model.request_options()
    temperature = top_p = None
    if agent is not None:
        if agent.prompt:
            system.append(agent.prompt)
        temperature, top_p = agent.temperature, agent.top_p
        options.update(agent.options or {})
    return ModelRequest(
        model=model.info.id,
        messages=messages,
        system=system,
        max_tokens=min(model.info.output, 32_000) if model.info.output else None,
        temperature=temperature if model.info.temperature else None,
        top_p=top_p,
        options=options,
    )


def base_prompt(cwd: Path) -> str:
    return (
        "You are OpenCode, an AI coding assistant working in the user's terminal. "
        f"The working directory is {cwd}. Answer concisely; use Markdown for code."
    )


def text_part(text: str) -> UserContent:
    from opencode.provider.types import TextPart

    return TextPart(text)


def attachments(paths: list[str]) -> list[UserContent]:
    from opencode.provider.types import FilePart, TextPart

    parts: list[UserContent] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise CliError(f"-f {raw}: no such file")
        media_type = mimetypes.guess_type(path.name)[0] or "text/plain"
        data = path.read_bytes()
        if media_type in BINARY_TYPES:
            parts.append(FilePart(media_type, data, path.name))
            continue
        if b"\0" in data[:8192]:
            raise CliError(f"-f {raw}: binary file of type {media_type}; attach images, PDFs or text")
        text = data[:MAX_TEXT_ATTACHMENT].decode("utf-8", "replace")
        note = f"\n[truncated at {MAX_TEXT_ATTACHMENT} bytes of {len(data)}]" if len(data) > MAX_TEXT_ATTACHMENT else ""
        parts.append(TextPart(f'<file path="{path}">\n{text}{note}\n</file>'))
    return parts


async def stream_turn(
    model: ResolvedModel,
    request: ModelRequest,
    out: IO[str],
    *,
    fmt: str = "default",
    thinking: bool = False,
    err: IO[str] | None = None,
) -> TurnResult:
    """Stream one reply to `out`; retries are reported on `err`; a final error is raised."""
    from opencode.provider.types import Finish, ReasoningDelta, Retrying, StreamFailed, TextDelta

    err = err or sys.stderr
    text: list[str] = []
    in_reasoning = False
    async for event in model.stream(request):
        if fmt == "json":
            out.write(json.dumps(event_json(event, model.ref)) + "\n")
            out.flush()
            if isinstance(event, StreamFailed):
                return TurnResult("".join(text), ok=False)
            if isinstance(event, TextDelta):
                text.append(event.text)
            continue
        if isinstance(event, TextDelta):
            if in_reasoning:
                err.write("\n")
                in_reasoning = False
            text.append(event.text)
            out.write(event.text)
            out.flush()
        elif isinstance(event, ReasoningDelta) and thinking:
            in_reasoning = True
            err.write(event.text)
            err.flush()
        elif isinstance(event, Retrying):
            err.write(f"{retry_line(event)}\n")
            err.flush()
        elif isinstance(event, StreamFailed):
            if text:
                out.write("\n")
            raise event.error
        elif isinstance(event, Finish):
            if text and not text[-1].endswith("\n"):
                out.write("\n")
            if event.reason == "length":
                err.write("warning: the reply was cut at the output token limit\n")
    return TurnResult("".join(text), ok=True)


def retry_line(event: Retrying) -> str:
    from opencode.provider.errors import ProviderError

    what = event.error.summary() if isinstance(event.error, ProviderError) else str(event.error)
    of = f" of {event.attempts}" if event.attempts else ""
    return f"{what}; retrying in {event.delay:.0f} s (try {event.attempt + 1}{of})"


def event_json(event: StreamEvent, model_ref: str) -> dict[str, Any]:
    from dataclasses import asdict

    from opencode.provider.types import Retrying, StreamFailed

    if isinstance(event, StreamFailed | Retrying):
        data: dict[str, Any] = {"type": event.type, "model": model_ref}
        data["error"] = {"name": type(event.error).__name__, "message": str(event.error)}
        if isinstance(event, Retrying):
            data.update(attempt=event.attempt, delay=event.delay)
        return data
    data = asdict(event)
    data["model"] = model_ref
    return data
