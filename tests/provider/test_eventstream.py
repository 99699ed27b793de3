"""AWS event-stream framing: botocore's encoded test messages, round trips, arbitrary chunking, checksums."""

from __future__ import annotations

import random

import pytest

from opencode.provider.adapters.eventstream import (
    EventMessage,
    EventStreamDecoder,
    EventStreamError,
    decode_all,
    encode_message,
)

# Encoded messages from botocore's tests/unit/test_eventstream.py.
PAYLOAD_ONE_STR_HEADER = (
    b"\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\x0ccontent-type\x07\x00\x10"
    b"application/json{'foo':'bar'}\x8d\x9c\x08\xb1"
)
ERROR_EVENT_MESSAGE = (
    b"\x00\x00\x00\x52\x00\x00\x00\x42\xbf\x23\x63\x7e"
    b"\x0d:message-type\x07\x00\x05error"
    b"\x0b:error-code\x07\x00\x04code"
    b"\x0e:error-message\x07\x00\x07message"
    b"\x6b\x6c\xea\x3d"
)
ALL_HEADERS_TYPES = (
    b"\x00\x00\x00\x62\x00\x00\x00\x52\x03\xb5\xcb\x9c"
    b"\x010\x00\x011\x01\x012\x02\x02\x013\x03\x00\x03"
    b"\x014\x04\x00\x00\x00\x04\x015\x05\x00\x00\x00\x00\x00\x00\x00\x05"
    b"\x016\x06\x00\x05bytes\x017\x07\x00\x04utf8"
    b"\x018\x08\x00\x00\x00\x00\x00\x00\x00\x08\x019\x090123456789abcdef"
    b"\x63\x35\x36\x71"
)
EMPTY_MESSAGE = b"\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2H\xeb}\x98\xc8\xff"


def test_decodes_botocore_vectors() -> None:
    assert decode_all(EMPTY_MESSAGE) == [EventMessage({}, b"")]
    assert decode_all(PAYLOAD_ONE_STR_HEADER) == [EventMessage({"content-type": "application/json"}, b"{'foo':'bar'}")]
    [error] = decode_all(ERROR_EVENT_MESSAGE)
    assert error.headers == {":message-type": "error", ":error-code": "code", ":error-message": "message"}
    assert error.message_type == "error"
    [every] = decode_all(ALL_HEADERS_TYPES)
    assert every.headers == {
        "0": True,
        "1": False,
        "2": 2,
        "3": 3,
        "4": 4,
        "5": 5,
        "6": b"bytes",
        "7": "utf8",
        "8": 8,
        "9": b"0123456789abcdef",
    }


def test_encodes_byte_for_byte_like_botocore() -> None:
    assert encode_message({}, b"") == EMPTY_MESSAGE
    assert encode_message({"content-type": "application/json"}, b"{'foo':'bar'}") == PAYLOAD_ONE_STR_HEADER
    headers = {":message-type": "error", ":error-code": "code", ":error-message": "message"}
    assert encode_message(headers) == ERROR_EVENT_MESSAGE


def _messages() -> list[EventMessage]:
    return [
        EventMessage({":event-type": "messageStart", ":message-type": "event"}, b'{"role":"assistant"}'),
        EventMessage({":event-type": "contentBlockDelta", "n": 7, "big": 2**40, "flag": True}, "héllo ✓".encode()),
        EventMessage({"raw": b"\x00\x01\xff", "off": False}, b""),
        EventMessage({}, b"x" * 5000),
    ]


def test_round_trip() -> None:
    messages = _messages()
    assert decode_all(b"".join(encode_message(m.headers, m.payload) for m in messages)) == messages


def test_any_chunk_boundaries() -> None:
    messages = _messages()[:3]
    data = b"".join(encode_message(m.headers, m.payload) for m in messages)
    for cut in range(1, len(data)):  # every two-piece split
        decoder = EventStreamDecoder()
        assert decoder.feed(data[:cut]) + decoder.feed(data[cut:]) == messages
        assert decoder.pending == 0
    rng = random.Random(7)
    for _ in range(50):  # and random many-piece splits
        decoder = EventStreamDecoder()
        out: list[EventMessage] = []
        pos = 0
        while pos < len(data):
            step = rng.randint(1, 40)
            out += decoder.feed(data[pos : pos + step])
            pos += step
        assert out == messages


def test_byte_by_byte() -> None:
    message = _messages()[1]
    data = encode_message(message.headers, message.payload)
    decoder = EventStreamDecoder()
    out = [m for i in range(len(data)) for m in decoder.feed(data[i : i + 1])]
    assert out == [message]


def test_payload_checksum_mismatch_raises() -> None:
    data = bytearray(PAYLOAD_ONE_STR_HEADER)
    data[-6] ^= 0x01  # flip a payload bit
    with pytest.raises(EventStreamError, match="message checksum"):
        decode_all(bytes(data))


def test_prelude_checksum_mismatch_raises_before_waiting_for_the_body() -> None:
    data = bytearray(PAYLOAD_ONE_STR_HEADER)
    data[0] = 0x01  # a corrupted total length must not make the decoder wait for 16 MiB
    with pytest.raises(EventStreamError, match="prelude checksum"):
        EventStreamDecoder().feed(bytes(data[:12]))


def test_truncated_stream() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(PAYLOAD_ONE_STR_HEADER[:-3]) == []
    assert decoder.pending == len(PAYLOAD_ONE_STR_HEADER) - 3
    with pytest.raises(EventStreamError, match="trailing bytes"):
        decode_all(PAYLOAD_ONE_STR_HEADER + EMPTY_MESSAGE[:5])
