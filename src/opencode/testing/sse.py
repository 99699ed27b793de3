"""A small SSE client on raw asyncio streams, for tests and benches of the server's event streams.

    client = await SSEClient.connect(url, "/event")
    event = await client.next()          # the next `data:` payload, parsed: {"type": ..., ...}
    await client.close()

It speaks just enough HTTP/1.1 (one GET, a chunked or close-delimited body) to read many streams
cheaply; `rcvbuf` shrinks the socket's receive buffer, for a client that stops reading.
`comments` counts the comment lines (heartbeats) seen so far; `finished` tells a response the server
ended (its last chunk came) from a connection it cut.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any
from urllib.parse import urlsplit


class SSEClosed(Exception):
    """The server ended the stream."""


class SSEClient:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int, headers: dict[str, str]
    ):
        self.reader = reader
        self.writer = writer
        self.status = status
        self.headers = headers
        self.chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        self.comments = 0
        self.finished = False
        """The server ended the response properly (the last chunk came), rather than cutting it."""
        self._buffer = b""
        self._eof = False

    @classmethod
    async def connect(
        cls, url: str, path: str = "/event", *, headers: dict[str, str] | None = None, rcvbuf: int | None = None
    ) -> SSEClient:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
        lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *rest = head.decode("latin-1").split("\r\n")
        fields = dict(line.split(":", 1) for line in rest if ":" in line)
        return cls(
            reader, writer, int(status_line.split()[1]), {k.strip().lower(): v.strip() for k, v in fields.items()}
        )

    async def _more(self) -> bytes:
        """The next piece of the body (chunked decoding undone); b"" at its end."""
        if self._eof:
            return b""
        try:
            if not self.chunked:
                data = await self.reader.read(65536)
            else:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = (await self.reader.readexactly(size + 2))[:-2] if size else b""
                self.finished = not size
        except (asyncio.IncompleteReadError, ConnectionError):
            data = b""
        if not data:
            self._eof = True
        return data

    async def next_raw(self) -> str:
        """The next event's `data`, as text (comment lines counted and skipped)."""
        while True:
            end = self._buffer.find(b"\n\n")
            if end >= 0:
                block, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
                data = []
                for line in block.split(b"\n"):
                    if line.startswith(b":"):
                        self.comments += 1
                    elif line.startswith(b"data:"):
                        data.append(line[5:].removeprefix(b" ").decode())
                if data:
                    return "\n".join(data)
                continue
            more = await self._more()
            if not more:
                raise SSEClosed("the server ended the event stream")
            self._buffer += more

    async def next(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(await self.next_raw())
        return data

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass
