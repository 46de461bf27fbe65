"""A connection to a target for an upgrade request (WebSockets): the request head goes out,
the response head comes back parsed, and from then on the connection is a byte stream that
the caller relays without looking at messages.

Not pooled: after a 101 the connection belongs to the tunnel, and one that refused the
upgrade is closed (the old aiohttp client did the same).
"""

from __future__ import annotations

import asyncio
import re

from multidict import CIMultiDict

from albauth.upstream._client import request_head
from albauth.upstream._errors import MalformedResponse, TargetDisconnected, TargetTimeout, TargetUnreachable
from albauth.upstream._pool import TargetOrigin
from albauth.upstream._protocol import MAX_RESPONSE_HEAD

# Bytes a StreamReader holds before it stops reading from the target (it pauses at twice
# this): a tunnel's read side is bounded whatever the frames announce.
_READ_LIMIT = 64 * 1024
_STATUS_LINE = re.compile(r"HTTP/1\.[01] (\d{3})(?: (.*))?")


class Tunnel:
    """The target's answer to an upgrade request, and the connection that carries on."""

    __slots__ = ("status", "reason", "headers", "connection", "reader", "writer")

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]],
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        # the Connection field's values (names more hop-by-hop fields), as `Connection.connection`
        self.connection = [v for k, v in headers if k.lower() == "connection"]
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


def parse_response_head(head: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    """Status, reason and fields of an HTTP/1.1 response head (RFC 9112 4, 5)."""
    lines = head.decode("utf-8", "surrogateescape").split("\r\n")
    status_line = _STATUS_LINE.fullmatch(lines[0])
    if status_line is None:
        raise MalformedResponse(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or line[0] in " \t":
            raise MalformedResponse(f"malformed header line: {line[:80]!r}")  # obs-fold too (RFC 9112 5.2)
        headers.append((name, value.strip(" \t")))
    return int(status_line.group(1)), (status_line.group(2) or "").strip(), headers


async def open_tunnel(origin: TargetOrigin, method: str, path_qs: str, headers: CIMultiDict[str], *,
                      connect_timeout: float, idle_timeout: float) -> Tunnel:
    """Send the upgrade request and read the response head. Raises `UpstreamError`
    (and `MalformedRequestHead`)."""
    head = request_head(method, path_qs, headers, origin.host_header, chunked=False)
    try:
        async with asyncio.timeout(connect_timeout):
            reader, writer = await asyncio.open_connection(
                origin.host, origin.port, ssl=origin.ssl, limit=_READ_LIMIT,
                server_hostname=origin.host if origin.ssl is not None else None)
    except TimeoutError:
        raise TargetTimeout(f"no connection to {origin.base} within {connect_timeout:g} s") from None
    except OSError as exc:  # refused, unreachable, DNS (gaierror), TLS (SSLError)
        raise TargetUnreachable(f"cannot connect to {origin.base}: {exc!r}") from exc
    try:
        writer.write(head)
        async with asyncio.timeout(idle_timeout):
            response_head = await _read_head(reader)
        return Tunnel(*parse_response_head(response_head), reader, writer)
    except TimeoutError:
        writer.close()
        raise TargetTimeout(f"no response head from the target for {idle_timeout:g} s") from None
    except BaseException:
        writer.close()
        raise


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    try:
        head = await reader.readuntil(b"\r\n\r\n")  # within the reader's 64 KB limit
    except asyncio.LimitOverrunError:
        raise MalformedResponse("response head over 32 KB") from None
    except asyncio.IncompleteReadError as exc:
        raise TargetDisconnected("target closed the connection before the response head") from exc
    except OSError as exc:
        raise TargetDisconnected(f"connection to the target broke: {exc!r}") from exc
    if len(head) > MAX_RESPONSE_HEAD:
        raise MalformedResponse("response head over 32 KB")  # ALB: 502 (spec 6.1)
    return head[:-4]
