"""A WebSocket after the 101: bytes spliced between the client and the target, never
reassembled into messages, with back-pressure both ways and the listener's idle timeout.

The relay reads at most 64 KB at a time from either side and stops reading
from one side while the other is not taking what it was given, so a frame that announces a
gigabyte costs what is in flight, not what is announced (the relay it replaces reassembled
whole messages without a size limit). It follows RFC 6455 5.2 frame boundaries in both
directions, only so that a Close frame (1001 Going Away, on shutdown) is never written into
the middle of a frame.
"""

from __future__ import annotations

import asyncio
import os
import struct

from aiohttp import web

from albauth.upstream import Tunnel

# Bytes read from the target at a time (its reader stops reading at twice this).
_CHUNK = 64 * 1024
# Bytes queued towards the target before we stop reading from the client.
_HIGH_WATER = 256 * 1024
_GOING_AWAY = 1001  # RFC 6455 7.4.1


class FrameBoundary:
    """Where a byte stream of WebSocket frames is: inside a frame, or between two."""

    __slots__ = ("_left", "_head")

    def __init__(self) -> None:
        self._left = 0  # payload bytes of the current frame still to come
        self._head = b""  # the start of a frame header not complete yet (at most 13 bytes)

    @property
    def at_boundary(self) -> bool:
        return self._left == 0 and not self._head

    def feed(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end:
            if self._left:
                step = min(self._left, end - pos)
                self._left -= step
                pos += step
                continue
            have = len(self._head)
            head = self._head + data[pos:pos + 14 - have]
            size = _header_size(head)
            if size is None or len(head) < size:
                self._head = head  # all of the rest of `data` is in it
                return
            pos += size - have
            self._head = b""
            self._left = _payload_length(head)


def _header_size(head: bytes) -> int | None:
    """RFC 6455 5.2: 2 bytes, then 2 or 8 bytes of extended length, then a 4-byte mask key."""
    if len(head) < 2:
        return None
    length = head[1] & 0x7F
    return 2 + (2 if length == 126 else 8 if length == 127 else 0) + (4 if head[1] & 0x80 else 0)


def _payload_length(head: bytes) -> int:
    length = head[1] & 0x7F
    if length == 126:
        return int.from_bytes(head[2:4], "big")
    if length == 127:
        return int.from_bytes(head[2:10], "big")
    return length


def close_frame(code: int, reason: bytes, *, masked: bool) -> bytes:
    """A Close frame (RFC 6455 5.5.1); frames from a client are masked (5.3)."""
    payload = struct.pack("!H", code) + reason
    if not masked:
        return bytes((0x88, len(payload))) + payload
    key = os.urandom(4)
    return bytes((0x88, 0x80 | len(payload))) + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class WebSocketRelay:
    """One spliced WebSocket. aiohttp's server protocol hands the client's bytes to
    `feed_data` (the relay is installed as its payload parser, as aiohttp's own WebSocket
    reader is); `run` carries the target's bytes to the client."""

    def __init__(self, request: web.BaseRequest, tunnel: Tunnel, idle_timeout: float) -> None:
        assert request.transport is not None
        self._loop = asyncio.get_running_loop()
        self._request = request
        self._client = request.transport
        self._tunnel = tunnel
        self._target = tunnel.writer
        self._idle_timeout = idle_timeout
        self._to_target = FrameBoundary()
        self._to_client = FrameBoundary()
        self._client_paused = False
        self._resume: asyncio.Future[None] | None = None
        self._closed = False
        self._last_io = self._loop.time()
        self._timer: asyncio.TimerHandle | None = self._loop.call_at(self._last_io + idle_timeout,
                                                                     self._on_idle_timer)
        request.protocol.set_parser(self)  # type: ignore[arg-type]  # duck-typed: feed_data, feed_eof

    # -- client -> target, called by aiohttp's server protocol ----------------------------

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self._closed or self._target.is_closing():
            return False, b""
        self._last_io = self._loop.time()
        self._to_target.feed(data)
        self._target.write(data)
        if not self._client_paused and self._target.transport.get_write_buffer_size() > _HIGH_WATER:
            # The target is not keeping up: stop reading from the client until it has.
            self._client_paused = True
            self._request.protocol.pause_reading()
            self._resume = asyncio.ensure_future(self._resume_client_when_drained())
        return False, b""

    def feed_eof(self) -> None:
        self.close()  # the client's connection ended: so does the target's

    async def _resume_client_when_drained(self) -> None:
        try:
            await self._target.drain()
        except ConnectionError:
            self.close()
            return
        self._client_paused = False
        if not self._closed:
            self._request.protocol.resume_reading()

    # -- target -> client ------------------------------------------------------------------

    async def run(self) -> None:
        """Until either side ends, the idle timeout passes, or `going_away`."""
        reader, client_writer = self._tunnel.reader, self._request.writer
        try:
            while not self._closed:
                data = await reader.read(_CHUNK)
                if not data:
                    break
                self._last_io = self._loop.time()
                if self._client.is_closing():
                    break
                self._to_client.feed(data)
                self._client.write(data)
                await client_writer.drain()  # the client's pace holds back reading from the target
        except OSError:  # ConnectionError, TLS errors
            pass
        finally:
            self.close()

    # -- ending ------------------------------------------------------------------------------

    def going_away(self) -> None:
        """1001 Going Away to both sides, each only between two frames (a control frame may
        sit between the fragments of a message, RFC 6455 5.4, but not inside a frame); then
        both connections close."""
        if self._closed:
            return
        reason = b"server shutting down"
        if self._to_client.at_boundary:
            self._client.write(close_frame(_GOING_AWAY, reason, masked=False))
        if self._to_target.at_boundary and not self._target.is_closing():
            self._target.write(close_frame(_GOING_AWAY, reason, masked=True))
        self.close()

    def _on_idle_timer(self) -> None:
        # ALB's idle timeout applies to WebSockets too: no byte either way for that long and
        # the connection is closed. One timer, re-armed lazily from the last I/O.
        self._timer = None
        if self._closed:
            return
        deadline = self._last_io + self._idle_timeout
        if self._loop.time() < deadline:
            self._timer = self._loop.call_at(deadline, self._on_idle_timer)
        else:
            self.close()

    def close(self) -> None:
        """Both connections close once what is buffered for them is written."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._resume is not None:
            self._resume.cancel()
        self._target.close()
        self._client.close()
