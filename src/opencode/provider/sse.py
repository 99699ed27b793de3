"""Server-sent events read from an httpx response (the W3C event-stream format).

Yields one `SSE` per event: the `event:` name (or "message") and the joined `data:` lines.
Comments (`: ping`) and retry fields are skipped. Used by every adapter whose vendor streams SSE.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


@dataclass(slots=True)
class SSE:
    event: str
    data: str
    id: str | None = None


async def iter_sse(response: httpx.Response) -> AsyncIterator[SSE]:
    event = ""
    data: list[str] = []
    last_id: str | None = None
    async for line in response.aiter_lines():
        line = line.rstrip("\r")
        if not line:
            if data or event:
                yield SSE(event or "message", "\n".join(data), last_id)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            last_id = value
    if data:
        yield SSE(event or "message", "\n".join(data), last_id)
