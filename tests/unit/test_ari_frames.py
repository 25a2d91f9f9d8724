"""The client's own WebSocket frames (several REST requests leave in one write): each must be
a final, masked text frame that any RFC 6455 server reads back to the same payload."""
from __future__ import annotations

import struct

import pytest

from ari_app.client import _client_frame


def _read(frame: bytes) -> tuple[int, bytes, bytes]:
    first, second = frame[0], frame[1]
    assert second & 0x80, "client frames are masked"
    length, offset = second & 0x7F, 2
    if length == 126:
        (length,), offset = struct.unpack("!H", frame[2:4]), 4
    elif length == 127:
        (length,), offset = struct.unpack("!Q", frame[2:10]), 10
    key, body = frame[offset:offset + 4], frame[offset + 4:]
    assert len(body) == length
    return first, key, bytes(b ^ key[i % 4] for i, b in enumerate(body))


@pytest.mark.parametrize("size", [0, 1, 3, 125, 126, 127, 1000, 65535, 65536, 70001])
def test_a_frame_unmasks_to_its_payload_at_every_length_boundary(size):
    payload = bytes((i * 7 + 3) % 256 for i in range(size))
    first, key, body = _read(_client_frame(payload))
    assert first == 0x81  # FIN + text
    assert body == payload


def test_each_frame_has_a_fresh_mask():
    keys = {_read(_client_frame(b'{"type":"RESTRequest"}'))[1] for _ in range(20)}
    assert len(keys) > 15
