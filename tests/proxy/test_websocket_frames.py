"""RFC 6455 5.2 frame boundaries, as the relay follows them to place a Close frame."""

from __future__ import annotations

import os
import struct

import pytest

from albauth.websocket_relay import FrameBoundary, close_frame


def frame(length: int, *, masked: bool) -> bytes:
    if length < 126:
        head = bytes((0x82, (0x80 if masked else 0) | length))
    elif length < 1 << 16:
        head = bytes((0x82, (0x80 if masked else 0) | 126)) + struct.pack("!H", length)
    else:
        head = bytes((0x82, (0x80 if masked else 0) | 127)) + struct.pack("!Q", length)
    return head + (os.urandom(4) if masked else b"") + b"x" * length


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("length", [0, 1, 125, 126, 300, 65535, 65536, 70000])
def test_boundary_is_found_however_the_bytes_are_split(masked: bool, length: int) -> None:
    stream = frame(length, masked=masked) + frame(3, masked=masked)
    first_end = len(stream) - len(frame(3, masked=masked))
    for split in sorted({1, 2, 3, 5, 9, 13, 14, first_end - 1, first_end, first_end + 1, len(stream) - 1}):
        if not 0 < split < len(stream):
            continue
        boundary = FrameBoundary()
        boundary.feed(stream[:split])
        assert boundary.at_boundary == (split == first_end), split
        boundary.feed(stream[split:])
        assert boundary.at_boundary


def test_a_frame_announcing_a_gibibyte_is_inside_a_frame_until_all_of_it_passed() -> None:
    boundary = FrameBoundary()
    boundary.feed(b"\x82\xff" + struct.pack("!Q", 1 << 30) + b"mask" + b"\x00" * 1000)
    assert not boundary.at_boundary


@pytest.mark.parametrize("masked", [False, True])
def test_close_frame_is_one_whole_frame(masked: bool) -> None:
    data = close_frame(1001, b"server shutting down", masked=masked)
    boundary = FrameBoundary()
    boundary.feed(data[:-1])
    assert not boundary.at_boundary
    boundary.feed(data[-1:])
    assert boundary.at_boundary
    assert data[0] == 0x88 and bool(data[1] & 0x80) == masked
