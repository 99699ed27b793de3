"""Stored conversation -> the provider layer's messages, the one place that translates them.

Rules:
- A user message becomes a `UserMessage` of its text and file parts (ignored parts left out).
- An assistant message (one per step) becomes an `AssistantMessage` of its text, reasoning and
  tool calls, followed by a `ToolMessage` with the result of each call in call order. A call
  that never finished (the process died, the run was aborted) is answered with an error result,
  so the history stays valid for every vendor. A compacted tool output is replaced by a short
  note. An assistant message that failed with nothing in it is left out.
- History starts at the latest finished compaction: its summary stands in for everything before,
  except the user's own words: every earlier message the user typed is repeated word for word in
  the compaction's request, so no instruction is lost to a summary.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from opencode.provider import types as p
from opencode.session.model import (
    AssistantMessage,
    CompactionPart,
    FilePart,
    MessageWithParts,
    ReasoningPart,
    TextPart,
    ToolPart,
    ToolStateCompleted,
    ToolStateError,
)

CLEARED = "[Old tool result content cleared]"
INTERRUPTED = "Tool execution was interrupted before it finished."


def since_last_compaction(history: Sequence[MessageWithParts]) -> list[MessageWithParts]:
    """The messages from the last completed compaction on (the whole history if there is none)."""
    for index in range(len(history) - 1, -1, -1):
        info = history[index].info
        if isinstance(info, AssistantMessage) and info.summary and info.time.completed and not info.error:
            # The compaction's user message (with its CompactionPart) is the one just before.
            start = (
                index - 1
                if index > 0 and any(isinstance(x, CompactionPart) for x in history[index - 1].parts)
                else index
            )
            return list(history[start:])
    return list(history)


class Converted:
    """Assistant messages already converted, by message id, for `to_provider_messages(cache=...)`.

    An entry is used only while the store hands out the very same `MessageWithParts` object, which
    the SQLite store does exactly as long as the message and its parts are unchanged; any other
    store hands out new objects, and the cache simply never hits."""

    def __init__(self) -> None:
        self._by_id: dict[str, tuple[MessageWithParts, list[p.Message]]] = {}

    def assistant(self, item: MessageWithParts) -> list[p.Message]:
        cached = self._by_id.get(item.info.id)
        if cached is not None and cached[0] is item:
            return cached[1]
        messages = _assistant(item)
        self._by_id[item.info.id] = (item, messages)
        return messages

    def keep_only(self, history: Sequence[MessageWithParts]) -> None:
        """Forget messages no longer in the history (reverted, or before the last compaction)."""
        if len(self._by_id) > len(history):
            present = {item.info.id for item in history}
            self._by_id = {k: v for k, v in self._by_id.items() if k in present}


def to_provider_messages(history: Sequence[MessageWithParts], cache: Converted | None = None) -> list[p.Message]:
    """The provider messages for `history`. With `cache`, unchanged assistant messages are not
    converted again (a long session is read back at every step); callers must not change the
    returned messages."""
    recent = since_last_compaction(history)
    earlier = history[: len(history) - len(recent)]
    out: list[p.Message] = []
    for item in recent:
        if isinstance(item.info, AssistantMessage):
            out.extend(cache.assistant(item) if cache is not None else _assistant(item))
        else:
            user = _user(item, earlier)
            if user is not None:
                out.append(user)
    if cache is not None:
        cache.keep_only(recent)
    return out


def user_words(history: Sequence[MessageWithParts]) -> list[str]:
    """What the user typed (not text the engine added), oldest first."""
    words: list[str] = []
    for item in history:
        if isinstance(item.info, AssistantMessage):
            continue
        text = "\n".join(x.text for x in item.parts if isinstance(x, TextPart) and not x.synthetic and not x.ignored)
        if text.strip():
            words.append(text)
    return words


def _user(item: MessageWithParts, earlier: Sequence[MessageWithParts] = ()) -> p.UserMessage | None:
    parts: list[p.UserContent] = []
    for part in item.parts:
        if isinstance(part, TextPart) and not part.ignored and part.text:
            parts.append(p.TextPart(part.text))
        elif isinstance(part, FilePart):
            decoded = decode_data_url(part.url)
            if decoded is not None:
                parts.append(p.FilePart(part.mime, decoded, part.filename))
        elif isinstance(part, CompactionPart):
            said = user_words(earlier)
            if said:
                quoted = "\n---\n".join(said)
                parts.append(p.TextPart(f"My messages so far, word for word:\n---\n{quoted}\n---"))
            parts.append(p.TextPart("What did we do so far?"))
    return p.UserMessage(parts) if parts else None


def _assistant(item: MessageWithParts) -> list[p.Message]:
    content: list[p.AssistantContent] = []
    results: list[p.ToolResultPart] = []
    attached: list[p.UserContent] = []
    for part in item.parts:
        if isinstance(part, TextPart) and part.text and not part.ignored:
            content.append(p.TextPart(part.text))
        elif isinstance(part, ReasoningPart):
            meta = part.metadata or {}
            signature, redacted = meta.get("signature"), meta.get("redacted")
            if part.text or redacted:
                content.append(p.ReasoningPart(part.text, signature=signature, redacted=redacted))
        elif isinstance(part, ToolPart):
            state = part.state
            content.append(p.ToolCallPart(part.callID, part.tool, state.input))
            if isinstance(state, ToolStateCompleted):
                output = CLEARED if state.time.compacted else state.output
                results.append(p.ToolResultPart(part.callID, part.tool, output))
                for file in state.attachments or [] if not state.time.compacted else []:
                    decoded = decode_data_url(file.url)
                    if decoded is not None:  # an image a tool returned (read, an MCP tool): the model sees it next
                        attached.append(p.FilePart(file.mime, decoded, file.filename))
            elif isinstance(state, ToolStateError):
                results.append(p.ToolResultPart(part.callID, part.tool, state.error, is_error=True))
            else:
                results.append(p.ToolResultPart(part.callID, part.tool, INTERRUPTED, is_error=True))
    if not content:
        return []
    messages: list[p.Message] = [p.AssistantMessage(content)]
    if results:
        messages.append(p.ToolMessage(results))
    if attached:
        messages.append(p.UserMessage([p.TextPart("Attached by the tool results above:"), *attached]))
    return messages


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def decode_data_url(url: str) -> bytes | None:
    if not url.startswith("data:"):
        return None
    header, _, payload = url.partition(",")
    if header.endswith(";base64"):
        try:
            return base64.b64decode(payload)
        except ValueError:
            return None
    return payload.encode()


def tool_input_json(part: ToolPart) -> str:
    return json.dumps(part.state.input, sort_keys=True)
