"""Compaction: keeping a long session inside the model's context window.

Three pure pieces and one call, which the loop combines:

- `should_compact`: the last step's token count against the window minus a reserve for output.
- `prune_tool_outputs`: marks old tool outputs compacted (the message converter then sends a
  short note instead of the text); cheap, no model call, tried first.
- `summary_request`: the request that asks a model for hand-over notes. It renders the
  conversation as text and cuts it to fit the window, so the request itself cannot overflow:
  tool output goes first, then old assistant text, then old user messages; the latest user
  message is kept word for word as long as anything is.
- `summarize`: sends that request and returns the notes; provider errors propagate so the loop
  decides what to do.

Token counts here are estimates (characters / 4): no tokenizer is loaded for this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from opencode.agent import prompts
from opencode.provider.errors import ProviderError
from opencode.provider.types import ModelRequest, TextPart, UserMessage
from opencode.session.model import (
    AssistantMessage,
    FilePart,
    MessageWithParts,
    Tokens,
    ToolPart,
    ToolStateCompleted,
    ToolStateError,
    now_ms,
)
from opencode.session.model import TextPart as SessionTextPart

if TYPE_CHECKING:
    from opencode.provider.registry import ResolvedModel

OUTPUT_RESERVE_MAX = 32_000
"""opencode's cap on output tokens; the reserve kept free for the reply is at most this."""
PRUNE_PROTECT = 40_000
PRUNE_MINIMUM = 20_000
PROTECTED_TOOLS = frozenset({"skill"})
"""Tools whose output is instructions the model must keep seeing; never pruned."""

TOOL_OUTPUT_CHARS = 2_000
TOOL_INPUT_CHARS = 300
SAFETY_MARGIN = 0.10
"""Share of the input budget left unused: characters / 4 undercounts code and non-Latin text."""
MIN_KEEP_CHARS = 300
"""A block cut shorter than this is dropped instead: a remnant that short carries nothing."""
NOTE_RESERVE_CHARS = 200

OUTPUT_LEFT_OUT = "(output left out to fit the context window)"
OUTPUT_CLEARED = "(output was cleared earlier to save space)"
INTRO = "Below, between <conversation> tags, is the conversation to write hand-over notes for."
CLOSING = "Write the hand-over notes for this conversation now, following your instructions."

_THINK = re.compile(r"^\s*<(think|thinking)>.*?</\1>\s*", re.DOTALL | re.IGNORECASE)


class EmptySummaryError(ProviderError):
    what = "the summary came back empty"
    hint = "Run /compact again, or set `small_model` to a model that follows instructions better"


def estimate_tokens(text: str) -> int:
    return len(text) // 4


def output_reserve(context: int, output: int) -> int:
    """Tokens kept free for the model's reply: its output limit, at most 32k (32k when unknown)."""
    reserve = min(output, OUTPUT_RESERVE_MAX) if output > 0 else OUTPUT_RESERVE_MAX
    # Catalogs sometimes give small models an output limit equal to the window; the reserve would
    # then leave no room for input and every step would compact. Keep half the window for input.
    return min(reserve, context // 2) if context > 0 else reserve


def should_compact(tokens: Tokens, context: int, output: int, *, auto: bool = True) -> bool:
    """Whether the last step used more than the window minus the output reserve."""
    if not auto or context <= 0:
        return False
    return tokens.total > context - output_reserve(context, output)


def prune_tool_outputs(
    messages: Sequence[MessageWithParts],
    *,
    protect_tokens: int = PRUNE_PROTECT,
    minimum: int = PRUNE_MINIMUM,
) -> list[ToolPart]:
    """Mark old completed tool outputs compacted; the parts changed, oldest first (the caller stores them).

    Walking back from the newest message: the last two user turns are left alone entirely, then
    the newest `protect_tokens` worth of tool output is kept, and everything older is marked,
    but only when that frees at least `minimum` tokens (a prune that saves little only costs
    the prompt cache). A compaction summary ends the walk: what lies before it is not sent.
    """
    turns = 0
    kept = 0
    freed = 0
    marked: list[tuple[ToolPart, ToolStateCompleted]] = []
    for message in reversed(messages):
        if message.info.role == "user":
            turns += 1
        if turns < 2:
            continue
        if isinstance(message.info, AssistantMessage) and message.info.summary:
            break
        for part in reversed(message.parts):
            if not isinstance(part, ToolPart) or not isinstance(part.state, ToolStateCompleted):
                continue
            state = part.state
            if part.tool in PROTECTED_TOOLS or state.time.compacted:
                continue
            estimate = estimate_tokens(state.output)
            kept += estimate
            if kept > protect_tokens:
                freed += estimate
                marked.append((part, state))
    if not marked or freed < minimum:
        return []
    stamp = now_ms()
    for _, state in marked:
        state.time.compacted = stamp
    return [part for part, _ in reversed(marked)]


# --- the summary request ----------------------------------------------------------------------


BlockKind = Literal["summary", "user", "assistant", "tool"]


@dataclass
class _Block:
    kind: BlockKind
    head: str
    body: str
    dropped: bool = False

    @property
    def cost(self) -> int:
        if self.dropped:
            return 0
        return len(self.head) + 1 + len(self.body) + 2  # the newline after the head, the blank line after


def summary_request(messages: Sequence[MessageWithParts], *, model_id: str, context: int, output: int) -> ModelRequest:
    """The request for hand-over notes on `messages`, cut to fit `context` (0: unknown, no cut)."""
    system = prompts.load("compaction")
    reserve = output_reserve(context, output)
    blocks = _blocks(messages)
    budget: int | None = None
    if context > 0:
        tokens = context - reserve - estimate_tokens(system) - estimate_tokens(INTRO + CLOSING) - 16
        chars = int(max(tokens, 0) * 4 * (1 - SAFETY_MARGIN))
        budget = max(chars - NOTE_RESERVE_CHARS, 0)
    transcript = _fit(blocks, budget)
    text = f"{INTRO}\n\n<conversation>\n{transcript}\n</conversation>\n\n{CLOSING}"
    return ModelRequest(
        model=model_id,
        system=[system],
        messages=[UserMessage([TextPart(text)])],
        max_tokens=reserve if context > 0 or output > 0 else None,
    )


async def summarize(
    model: ResolvedModel,
    messages: Sequence[MessageWithParts],
    *,
    model_id: str | None = None,
    context: int | None = None,
    output: int | None = None,
) -> str:
    """Hand-over notes for `messages` from `model`; raises `ProviderError` (also for an empty answer)."""
    request = summary_request(
        messages,
        model_id=model_id or model.info.id,
        context=model.info.context if context is None else context,
        output=model.info.output if output is None else output,
    )
    response = await model.complete(request)
    text = _THINK.sub("", response.text).strip()
    if not text:
        raise EmptySummaryError(model.provider.id, f"{model.ref} returned no text")
    return text


def _since_last_summary(messages: Sequence[MessageWithParts]) -> tuple[str | None, Sequence[MessageWithParts]]:
    """The latest finished summary's text and the messages after it (all of them when there is none)."""
    for index in range(len(messages) - 1, -1, -1):
        info = messages[index].info
        if isinstance(info, AssistantMessage) and info.summary and info.error is None:
            text = _text_of(messages[index].parts)
            if text:
                return text, messages[index + 1 :]
    return None, messages


def _blocks(messages: Sequence[MessageWithParts]) -> list[_Block]:
    summary, recent = _since_last_summary(messages)
    blocks: list[_Block] = []
    if summary:
        blocks.append(_Block("summary", "[Notes on the conversation before this point]", summary))
    for message in recent:
        if message.info.role == "user":
            own: list[str] = []
            attached: list[_Block] = []
            for part in message.parts:
                if isinstance(part, SessionTextPart) and not part.ignored and part.text.strip():
                    # Synthetic text is what the engine attached (file contents, reminders): bulky, and not the
                    # user's own words, so it is cut as early as tool output.
                    if part.synthetic:
                        body = _head_of(part.text, TOOL_OUTPUT_CHARS)
                        attached.append(_Block("tool", "[Context attached to the message]", body))
                    else:
                        own.append(part.text)
                elif isinstance(part, FilePart):
                    own.append(f"[attached file: {part.filename or part.url[:80]} ({part.mime})]")
            if own:
                blocks.append(_Block("user", "[User]", "\n".join(own)))
            blocks += attached
            continue
        if isinstance(message.info, AssistantMessage) and message.info.summary:
            continue
        texts: list[str] = []
        for part in message.parts:
            if isinstance(part, SessionTextPart) and part.text.strip():
                texts.append(part.text)
            elif isinstance(part, ToolPart):
                if texts:
                    blocks.append(_Block("assistant", "[Assistant]", "\n".join(texts)))
                    texts = []
                blocks.append(_tool_block(part))
        if texts:
            blocks.append(_Block("assistant", "[Assistant]", "\n".join(texts)))
    return blocks


def _tool_block(part: ToolPart) -> _Block:
    arguments = json.dumps(part.state.input, ensure_ascii=False, default=str)
    if len(arguments) > TOOL_INPUT_CHARS:
        arguments = arguments[:TOOL_INPUT_CHARS] + "…"
    head = f"[Tool call] {part.tool} {arguments}"
    state = part.state
    if isinstance(state, ToolStateCompleted):
        body = OUTPUT_CLEARED if state.time.compacted else _head_of(state.output, TOOL_OUTPUT_CHARS)
    elif isinstance(state, ToolStateError):
        body = "error: " + _head_of(state.error, TOOL_OUTPUT_CHARS)
    else:
        body = "(no result: the call was interrupted)"
    return _Block("tool", head, body)


def _fit(blocks: list[_Block], budget: int | None) -> str:
    """Cut `blocks` in priority order until they fit `budget` characters, and render them."""
    if budget is not None:
        _Cutter(blocks, budget).run()
    kept = [b for b in blocks if not b.dropped]
    left_out = len(blocks) - len(kept)
    cut = sum(1 for b in kept if b.body == OUTPUT_LEFT_OUT)
    lines: list[str] = []
    losses = [f"{left_out} earlier entries were left out"] if left_out else []
    losses += [f"the output of {cut} tool calls was removed"] if cut else []
    if losses:
        lines.append(f"[To fit the context window, {' and '.join(losses)}.]")
    lines += [f"{b.head}\n{b.body}" for b in kept]
    text = "\n\n".join(lines)
    if budget is not None and len(text) > budget + NOTE_RESERVE_CHARS:
        text = text[len(text) - budget - NOTE_RESERVE_CHARS :]  # the last guard: keep the newest end
    return text


class _Cutter:
    def __init__(self, blocks: list[_Block], budget: int) -> None:
        self.blocks = blocks
        self.budget = budget
        self.total = sum(b.cost for b in blocks)

    @property
    def excess(self) -> int:
        return self.total - self.budget

    def run(self) -> None:
        users = [b for b in self.blocks if b.kind == "user"]
        latest = users[-1] if users else None
        tools = [b for b in self.blocks if b.kind == "tool"]
        for block in tools:
            self._replace(block, OUTPUT_LEFT_OUT)
        self._drop_all(tools, keep="none")
        self._drop_all([b for b in self.blocks if b.kind == "assistant"], keep="tail")
        self._drop_all([b for b in users if b is not latest], keep="ends")
        self._drop_all([b for b in self.blocks if b.kind == "summary"], keep="head")
        if latest is not None:
            self._drop_all([latest], keep="ends", least=1)

    def _replace(self, block: _Block, body: str) -> None:
        if self.excess <= 0 or block.dropped or len(block.body) <= len(body):
            return
        self.total -= block.cost
        block.body = body
        self.total += block.cost

    def _drop_all(
        self,
        blocks: Iterable[_Block],
        *,
        keep: Literal["none", "head", "tail", "ends"],
        least: int = MIN_KEEP_CHARS,
    ) -> None:
        """Drop blocks in order until the rest fits; the last one is shortened instead when `least` chars remain."""
        for block in blocks:
            if self.excess <= 0:
                return
            if block.dropped:
                continue
            room = len(block.body) - self.excess - 40  # 40: the "[... cut ...]" marker
            self.total -= block.cost
            if keep != "none" and room >= least:
                block.body = _shorten(block.body, room, keep)
            else:
                block.dropped = True
            self.total += block.cost


def _shorten(text: str, room: int, keep: Literal["none", "head", "tail", "ends"]) -> str:
    left_out = len(text) - room
    marker = f"[... {left_out} characters cut ...]"
    if keep == "head":
        return f"{text[:room]}\n{marker}"
    if keep == "tail":
        return f"{marker}\n{text[-room:]}"
    half = room // 2
    return f"{text[:half]}\n{marker}\n{text[len(text) - (room - half) :]}"


def _head_of(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more characters]"


def _text_of(parts: Iterable[object]) -> str:
    return "\n".join(p.text for p in parts if isinstance(p, SessionTextPart) and p.text.strip()).strip()


__all__ = [
    "OUTPUT_RESERVE_MAX",
    "PRUNE_MINIMUM",
    "PRUNE_PROTECT",
    "EmptySummaryError",
    "estimate_tokens",
    "output_reserve",
    "prune_tool_outputs",
    "should_compact",
    "summarize",
    "summary_request",
]
