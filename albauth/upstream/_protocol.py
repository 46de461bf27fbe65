"""One keep-alive HTTP/1.1 connection to a target, as an asyncio `Protocol`.

The request is written by the caller (`begin` takes the whole head as one `bytes`); the
response is parsed by httptools (llhttp, the C parser uvicorn uses) straight from
`data_received`, without a reader task. The body is handed over either whole (`read_all`)
or chunk by chunk (`read_chunk`) with back-pressure: past `_HIGH_WATER` buffered bytes we
stop reading from the target until the consumer has taken them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import cast

import httptools

from albauth.upstream._errors import MalformedResponse, TargetDisconnected, TargetTimeout, UpstreamError

# ALB answers 502 when a target's response header is over 32 KB (spec 6.1).
MAX_RESPONSE_HEAD = 32 * 1024
# Body bytes buffered before we stop reading from the target; `read_chunk` takes them all.
_HIGH_WATER = 512 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


class _SecondResponse(Exception):
    """The target sent bytes after a complete response we had not asked for."""


class Connection(asyncio.Protocol):
    """One exchange at a time: `begin` → `wait_head` → `read_all`/`read_chunk` → `finish`."""

    __slots__ = (
        "_loop", "_idle_timeout", "transport", "_parser", "closed", "exchanges", "_discard", "origin",
        "_active", "_head_request", "status", "_reason", "headers", "content_length", "_chunked",
        "connection", "_head_size", "_raw_head", "_whole", "head_done", "complete", "keep_alive", "got_bytes",
        "request_sent",
        "_interim", "_until_eof", "_body", "_buffered", "_reading_paused", "_want_data", "_exc",
        "_waiter", "_write_paused", "_drain_waiter", "_last_io", "_timer", "body_task",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, idle_timeout: float, origin: object,
                 discard: Callable[[Connection], None]) -> None:
        self._loop = loop
        self._idle_timeout = idle_timeout
        self.origin = origin  # the pool's key for this connection
        self._discard = discard  # takes this connection out of the pool's idle list
        self.transport: asyncio.Transport | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self.closed = False
        self.exchanges = 0  # > 1 once reused from the pool
        self._last_io = loop.time()
        self._active = False
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.body_task: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self._head_request = False
        self.status = 0
        self._reason = b""
        self.headers: list[tuple[str, str]] = []
        self.content_length: int | None = None
        self.connection: list[str] = []  # the Connection field's values (names more hop-by-hop fields)
        self._chunked = False
        self._whole = False  # read_all is collecting: never pause
        self._head_size = 0  # header bytes of the final response, as on_header saw them
        self._raw_head = 0  # bytes received while the head was incomplete
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self.got_bytes = False
        self.request_sent = False
        self._interim = False
        self._until_eof = False
        self._body: deque[bytes] = deque()
        self._buffered = 0
        self._reading_paused = False
        self._want_data = False
        self._exc: BaseException | None = None

    # -- the exchange, as the client drives it --------------------------------------------

    def begin(self, data: bytes, *, head_request: bool, request_sent: bool) -> None:
        """Write the request head (and any body bytes already at hand) in one write."""
        if self.exchanges:
            self._reset()
        self.exchanges += 1
        self._active = True
        self._head_request = head_request
        self.request_sent = request_sent
        if self._parser is None:
            self._parser = httptools.HttpResponseParser(self)
        assert self.transport is not None
        self.transport.write(data)
        self._last_io = self._loop.time()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the target is not reading what we wrote (transport flow control)."""
        if self._write_paused and not self.closed:
            self._drain_waiter = self._loop.create_future()
            await self._drain_waiter
        if self.closed:
            raise self._exc or TargetDisconnected("target closed the connection")

    async def wait_head(self) -> None:
        while not self.head_done:
            if self._exc is not None:
                raise self._exc
            await self._wait()

    async def read_all(self) -> bytes:
        self._whole = True
        if self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()
        while not self.complete:
            if self._exc is not None:
                raise self._exc
            await self._wait()
        body = b"".join(self._body)
        self._body.clear()
        return body

    async def read_chunk(self) -> bytes:
        """The next body bytes; b"" once the response is complete."""
        while not self._body:
            if self.complete:
                return b""
            if self._exc is not None:
                raise self._exc
            self._want_data = True
            try:
                await self._wait()
            finally:
                self._want_data = False
        chunk = self._body.popleft() if len(self._body) == 1 else b"".join(self._body)
        self._body.clear()
        self._buffered = 0
        if self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()
        return chunk

    def finish(self) -> bool:
        """End the exchange; True when the connection can serve another request: the
        response was read whole, the request went out whole, and the target keeps alive."""
        if not self._active:
            return False  # finished already
        self._active = False
        task = self.body_task
        if task is not None:
            self.body_task = None
            if not task.done():
                task.cancel()
        reusable = (self.complete and self.keep_alive and self.request_sent and self._exc is None
                    and not self.closed and not self._body)
        if reusable and self._head_request:
            # llhttp still waits for the Content-Length it was told about; start clean.
            self._parser = None
        if reusable:
            self._last_io = self._loop.time()  # idle from now on
        else:
            self.close()
        return reusable

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    def fail(self, exc: BaseException) -> None:
        """Abort the exchange (e.g. the client's upload broke): wake the waiters, close."""
        if self._exc is None:
            self._exc = exc
        self._wake()
        self.close()

    async def _wait(self) -> None:
        waiter = self._loop.create_future()
        self._waiter = waiter
        await waiter

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _on_idle_timer(self) -> None:
        # One timer per connection, armed when it opens and re-armed lazily from the last
        # I/O: no timer to create and cancel per request, none moved on every packet.
        # In an exchange it is the idle (read) timeout; in the pool, the keep-alive timeout.
        self._timer = None
        if self.closed:
            return
        now = self._loop.time()
        if self._active and (self._reading_paused or self.complete or self._exc is not None):
            self._last_io = now  # waiting on our client, not on the target
        deadline = self._last_io + self._idle_timeout
        if now < deadline:
            self._timer = self._loop.call_at(deadline, self._on_idle_timer)
        elif self._active:
            self.fail(TargetTimeout(f"no data from the target for {self._idle_timeout:g} s"))
        else:
            self.close()
            self._discard(self)

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._last_io = self._loop.time()
        self._timer = self._loop.call_at(self._last_io + self._idle_timeout, self._on_idle_timer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._active:
            self._discard(self)  # the target closed it while it sat in the pool
        if self._active and not self.complete and self._exc is None:
            if self._until_eof:
                # No Content-Length, not chunked: the body ends with the connection (RFC 9112 6.3).
                self.complete = True
                self.keep_alive = False
            else:
                self._exc = TargetDisconnected("target closed the connection" if exc is None
                                               else f"connection to the target broke: {exc!r}")
        self._wake()
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    def eof_received(self) -> bool:
        return False  # we never half-close; let the transport close

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._last_io = self._loop.time()
        drain = self._drain_waiter
        if drain is not None:
            self._drain_waiter = None
            if not drain.done():
                drain.set_result(None)

    def data_received(self, data: bytes) -> None:
        if not self._active or self.complete:
            # Bytes nobody asked for (on an idle pooled connection, or after a complete
            # response): the connection is out of step and must never be reused.
            self.keep_alive = False
            self.close()
            return
        self._last_io = self._loop.time()
        self.got_bytes = True
        if not self.head_done:
            self._raw_head += len(data)
        assert self._parser is not None
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # 101 although we never asked to upgrade (WebSockets take another path).
            self.fail(MalformedResponse("unexpected 101 Switching Protocols"))
            return
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _SecondResponse) or self.complete:
                self.keep_alive = False
                self.close()
                return
            self.fail(cause if isinstance(cause, UpstreamError) else MalformedResponse(str(exc)))
            return
        if not self.head_done and self._raw_head > MAX_RESPONSE_HEAD:
            self.fail(MalformedResponse("response head over 32 KB"))

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.head_done:
            raise _SecondResponse()
        self.headers = []
        self._reason = b""
        self.content_length = None
        self.connection = []
        self._chunked = False
        self._head_size = 0

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.head_done:
            return  # trailer fields: dropped, as before (aiohttp's client dropped them too)
        n = len(name)
        self._head_size += n + len(value) + 4
        text = value.decode("utf-8", "surrogateescape")
        if n == 14 and name.lower() == b"content-length":
            self.content_length = int(value)  # llhttp has checked the digits
        elif n == 17 and name.lower() == b"transfer-encoding":
            self._chunked = b"chunked" in value.lower()
        elif n == 10 and name.lower() == b"connection":
            self.connection.append(text)
        self.headers.append((name.decode("utf-8", "surrogateescape"), text))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        status = self._parser.get_status_code()
        if status < 200:
            self._interim = True  # 1xx (not 101): informational, dropped; the final one follows
            return
        if self._head_size + len(self._reason) > MAX_RESPONSE_HEAD:
            raise MalformedResponse("response head over 32 KB")
        self.status = status
        self.head_done = True
        self.keep_alive = self._parser.should_keep_alive()
        if self._head_request:
            self.complete = True  # a HEAD response has no body whatever its Content-Length says
        else:
            self._until_eof = not (self._chunked or self.content_length is not None or status in _NO_BODY_STATUS)
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.complete:
            self.keep_alive = False  # a body after a HEAD response: do not reuse
            return
        self._body.append(body)
        self._buffered += len(body)
        if (self._buffered > _HIGH_WATER and not self._reading_paused and not self._whole
                and self.transport is not None):
            self._reading_paused = True
            self.transport.pause_reading()
        if self._want_data:
            self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self.complete:
            return  # the HEAD response's phantom body
        assert self._parser is not None
        self.complete = True
        self.keep_alive = self._parser.should_keep_alive()
        self._wake()

    @property
    def reason(self) -> str:
        return self._reason.decode("utf-8", "surrogateescape").strip()
