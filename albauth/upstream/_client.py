"""Send one request to a target over a pooled connection and return the connection once the
response head is in.

The head goes out as one `bytes` write (with the body's first bytes when they are already
at hand); the rest of the body is streamed from the client's `StreamReader` by a task, in
the client's framing (Content-Length, or chunked when the client sent chunked).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from multidict import CIMultiDict

from albauth.upstream._errors import TargetDisconnected, UpstreamError
from albauth.upstream._pool import Pool, TargetOrigin
from albauth.upstream._protocol import Connection


class Body(Protocol):
    """What we read a request body from: aiohttp's `StreamReader` (`request.content`)."""

    async def readany(self) -> bytes: ...

    def read_nowait(self, n: int = -1) -> bytes: ...

    def is_eof(self) -> bool: ...


class MalformedRequestHead(ValueError):
    """A header value would have broken the request head (CR or LF in it)."""


def request_head(method: str, raw_path: str, headers: CIMultiDict[str], host: str, chunked: bool) -> bytes:
    lines = [f"{method} {raw_path} HTTP/1.1\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
    if "Host" not in headers:
        lines.append(f"Host: {host}\r\n")  # an HTTP/1.0 client sent none; HTTP/1.1 requires it
    if chunked:
        lines.append("Transfer-Encoding: chunked\r\n")
    lines.append("\r\n")
    head = "".join(lines)
    # One CR and one LF per line, no more: a stray one would split the head (RFC 9112 2.2).
    if head.count("\n") != len(lines) or head.count("\r") != len(lines):
        raise MalformedRequestHead("CR or LF inside a header field")
    return head.encode("utf-8", "surrogateescape")  # the bytes aiohttp's server decoded


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


class UpstreamClient:
    def __init__(self, *, connect_timeout: float, idle_timeout: float, max_idle_per_origin: int = 256,
                 verify_certificates: bool = False) -> None:
        self.pool = Pool(connect_timeout=connect_timeout, idle_timeout=idle_timeout,
                         max_idle=max_idle_per_origin, verify_certificates=verify_certificates)

    async def send(self, origin: TargetOrigin, method: str, raw_path: str, headers: CIMultiDict[str],
                   body: Body | None) -> Connection:
        """The connection, its response head read; `release` it when done with the body.
        Raises `UpstreamError` (and `MalformedRequestHead`)."""
        chunked = body is not None and "Content-Length" not in headers
        head = request_head(method, raw_path, headers, origin.host_header, chunked)
        first = b""
        body_done = body is None
        if body is not None:
            # Bytes that arrived with the request head go out in the same write.
            first = body.read_nowait()
            body_done = body.is_eof()
            if chunked:
                first = (_chunk(first) if first else b"") + (b"0\r\n\r\n" if body_done else b"")
        attempt = 0
        while True:
            attempt += 1
            conn = await self.pool.acquire(origin)
            conn.begin(head + first if first else head, head_request=method == "HEAD", request_sent=body_done)
            if not body_done:
                assert body is not None
                conn.body_task = asyncio.ensure_future(_stream_body(conn, body, chunked))
            try:
                await conn.wait_head()
                return conn
            except TargetDisconnected:
                # A pooled connection the target closed while it sat idle: nothing was
                # processed, so a request without a body is sent once more on a fresh one.
                retry = attempt == 1 and body is None and conn.exchanges > 1 and not conn.got_bytes
                self.pool.release(conn)
                if not retry:
                    raise
            except BaseException:
                self.pool.release(conn)  # not reusable: finish() closes it
                raise

    def release(self, conn: Connection) -> None:
        self.pool.release(conn)

    def close(self) -> None:
        self.pool.close()


async def _stream_body(conn: Connection, body: Body, chunked: bool) -> None:
    try:
        while True:
            data = await body.readany()
            if not data:
                break
            if conn.closed:
                return  # the response side reports why
            conn.write(_chunk(data) if chunked else data)
            await conn.drain()
        if chunked:
            conn.write(b"0\r\n\r\n")
        conn.request_sent = True
    except asyncio.CancelledError:
        raise
    except UpstreamError as exc:
        conn.fail(exc)
    except Exception as exc:  # the client's upload broke off
        conn.fail(TargetDisconnected(f"request body broke off: {exc!r}"))
