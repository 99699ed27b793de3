"""AWS's binary event-stream framing (`application/vnd.amazon.eventstream`).

Bedrock's ConverseStream answers with it: the adapter decodes it, the scripted test server
encodes it. One message on the wire is

    prelude   total length (u32) | headers length (u32) | CRC32 of those 8 bytes (u32)
    headers   repeated: name length (u8) | name (UTF-8) | value type (u8) | value
    payload   total length - headers length - 16 bytes
    trailer   CRC32 of every byte before it (u32)

Integers are big-endian. Header value types: 0 true, 1 false, 2 int8, 3 int16, 4 int32, 5 int64,
6 bytes (u16 length), 7 string (u16 length, UTF-8), 8 timestamp (int64 milliseconds), 9 UUID
(16 bytes). Timestamps decode to their int and UUIDs to their bytes, as botocore does.

Left out: signing outgoing event streams (only bidirectional APIs need that, Converse does not).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

PRELUDE_LENGTH = 12
TRAILER_LENGTH = 4
MAX_MESSAGE_LENGTH = 24 * 1024 * 1024 + 128 * 1024
"""Botocore's limits (payload 24 MiB, headers 128 KiB): a larger length means the bytes are not a frame."""

HeaderValue = bool | int | bytes | str


class EventStreamError(ValueError):
    """The bytes are not a well-formed event-stream message (bad length or checksum)."""


@dataclass(slots=True)
class EventMessage:
    headers: dict[str, HeaderValue] = field(default_factory=dict)
    payload: bytes = b""

    @property
    def message_type(self) -> str:
        value = self.headers.get(":message-type", "event")
        return value if isinstance(value, str) else "event"

    @property
    def event_type(self) -> str:
        value = self.headers.get(":event-type", "")
        return value if isinstance(value, str) else ""


class EventStreamDecoder:
    """Incremental decoder: `feed` bytes as they arrive and get back the whole messages so far."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received that do not make a whole message yet (non-zero at the end = truncated)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[EventMessage]:
        self._buffer.extend(data)
        messages: list[EventMessage] = []
        while len(self._buffer) >= PRELUDE_LENGTH:
            total, headers_length, prelude_crc = struct.unpack_from("!III", self._buffer, 0)
            # Check the prelude before trusting its lengths: garbage must not make us wait forever.
            if zlib.crc32(bytes(self._buffer[:8])) != prelude_crc:
                raise EventStreamError("event-stream prelude checksum mismatch")
            if total < PRELUDE_LENGTH + TRAILER_LENGTH + headers_length or total > MAX_MESSAGE_LENGTH:
                raise EventStreamError(f"event-stream message length {total} is invalid")
            if len(self._buffer) < total:
                break
            frame = bytes(self._buffer[:total])
            del self._buffer[:total]
            (message_crc,) = struct.unpack_from("!I", frame, total - TRAILER_LENGTH)
            if zlib.crc32(frame[: total - TRAILER_LENGTH]) != message_crc:
                raise EventStreamError("event-stream message checksum mismatch")
            headers_end = PRELUDE_LENGTH + headers_length
            headers = _decode_headers(frame[PRELUDE_LENGTH:headers_end])
            messages.append(EventMessage(headers, frame[headers_end : total - TRAILER_LENGTH]))
        return messages


def decode_all(data: bytes) -> list[EventMessage]:
    """Decode a complete byte string; raises `EventStreamError` when bytes are left over."""
    decoder = EventStreamDecoder()
    messages = decoder.feed(data)
    if decoder.pending:
        raise EventStreamError(f"{decoder.pending} trailing bytes do not make a whole message")
    return messages


def encode_message(headers: Mapping[str, HeaderValue], payload: bytes = b"") -> bytes:
    """One message. str -> string header, bytes -> byte array, bool -> true/false, int -> int32 or int64."""
    encoded_headers = b"".join(_encode_header(name, value) for name, value in headers.items())
    total = PRELUDE_LENGTH + len(encoded_headers) + len(payload) + TRAILER_LENGTH
    head = struct.pack("!II", total, len(encoded_headers))
    prelude = head + struct.pack("!I", zlib.crc32(head))
    body = prelude + encoded_headers + payload
    return body + struct.pack("!I", zlib.crc32(body))


def _encode_header(name: str, value: HeaderValue) -> bytes:
    raw_name = name.encode()
    if len(raw_name) > 255:
        raise EventStreamError(f"header name {name!r} is longer than 255 bytes")
    out = struct.pack("!B", len(raw_name)) + raw_name
    if isinstance(value, bool):  # before int: bool is an int subclass
        return out + struct.pack("!B", 0 if value else 1)
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return out + struct.pack("!Bi", 4, value)
        return out + struct.pack("!Bq", 5, value)
    raw = value if isinstance(value, bytes) else value.encode()
    if len(raw) > 0xFFFF:
        raise EventStreamError(f"header {name!r} value is longer than 65535 bytes")
    return out + struct.pack("!BH", 6 if isinstance(value, bytes) else 7, len(raw)) + raw


_FIXED = {2: "!b", 3: "!h", 4: "!i", 5: "!q", 8: "!q"}


def _decode_headers(data: bytes) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    pos = 0
    try:
        while pos < len(data):
            name_length = data[pos]
            name = data[pos + 1 : pos + 1 + name_length].decode()
            pos += 1 + name_length
            kind = data[pos]
            pos += 1
            value: HeaderValue
            if kind in (0, 1):
                value = kind == 0
            elif kind in _FIXED:
                fmt = _FIXED[kind]
                (value,) = struct.unpack_from(fmt, data, pos)
                pos += struct.calcsize(fmt)
            elif kind in (6, 7):
                (length,) = struct.unpack_from("!H", data, pos)
                raw = data[pos + 2 : pos + 2 + length]
                if len(raw) != length:
                    raise EventStreamError(f"header {name!r} value is truncated")
                value = raw.decode() if kind == 7 else raw
                pos += 2 + length
            elif kind == 9:
                value = data[pos : pos + 16]
                pos += 16
            else:
                raise EventStreamError(f"header {name!r} has unknown value type {kind}")
            if name in headers:
                raise EventStreamError(f"duplicate header {name!r}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise EventStreamError(f"malformed event-stream headers ({exc})") from None
    return headers
