"""Keep-alive connections per target origin (scheme, host, port).

Idle connections are kept newest last and reused newest first (the oldest is the likeliest
to have been closed by the target); at most `max_idle` per origin, each closing itself
after `idle_timeout` unused (its own timer, see `Connection._on_idle_timer`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Callable

from yarl import URL

from albauth.upstream._errors import TargetTimeout, TargetUnreachable
from albauth.upstream._protocol import Connection


class TargetOrigin:
    """One target origin: where to connect and its idle connections."""

    __slots__ = ("host", "port", "ssl", "host_header", "base", "idle")

    def __init__(self, target: URL, ssl_context: ssl.SSLContext | None) -> None:
        assert target.host is not None
        self.host = target.host
        self.port = target.port or (443 if target.scheme == "https" else 80)
        self.ssl = ssl_context
        host = target.raw_host or self.host
        if ":" in host:
            host = f"[{host}]"  # an IPv6 literal (RFC 9110 7.2 uses the URI's authority form)
        self.host_header = host if target.is_default_port() else f"{host}:{self.port}"
        self.base = str(target.origin())  # "scheme://host:port", to rebuild a URL for WebSockets
        self.idle: deque[Connection] = deque()


def _discarder(origin: TargetOrigin) -> Callable[[Connection], None]:
    def discard(conn: Connection) -> None:
        try:
            origin.idle.remove(conn)
        except ValueError:
            pass  # not idle: in use, or popped already

    return discard


class Pool:
    def __init__(self, *, connect_timeout: float, idle_timeout: float, max_idle: int,
                 verify_certificates: bool = False) -> None:
        self.connect_timeout = connect_timeout
        self.verify_certificates = verify_certificates
        self.idle_timeout = idle_timeout
        self.max_idle = max_idle
        self._origins: dict[URL, TargetOrigin] = {}
        self._by_key: dict[tuple[str, str, int], TargetOrigin] = {}
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    def origin(self, target: URL) -> TargetOrigin:
        """The pool's origin for a target URL (targets are a handful of URL objects)."""
        origin = self._origins.get(target)
        if origin is None:
            key = (target.scheme, target.host or "", target.port or 0)
            origin = self._by_key.get(key)
            if origin is None:
                ssl_context = self._ssl_context() if target.scheme == "https" else None
                origin = self._by_key[key] = TargetOrigin(target, ssl_context)
            self._origins[target] = origin
        return origin

    def _ssl_context(self) -> ssl.SSLContext:
        # ALB encrypts to HTTPS targets without validating their certificates (self-signed
        # ones work); with verify_certificates, the system's CAs and the host name are checked.
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
            if not self.verify_certificates:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        return self._ssl

    async def acquire(self, origin: TargetOrigin) -> Connection:
        idle = origin.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return await self._connect(origin)

    def release(self, conn: Connection) -> None:
        """Back to the pool if the exchange left it reusable, closed otherwise."""
        if not conn.finish():
            return
        origin = conn.origin
        assert isinstance(origin, TargetOrigin)
        if self._closed or len(origin.idle) >= self.max_idle:
            conn.close()
            return
        origin.idle.append(conn)  # the connection closes itself after idle_timeout unused

    async def _connect(self, origin: TargetOrigin) -> Connection:
        if self._closed:
            raise TargetUnreachable("the forwarder is closed")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop, self.idle_timeout, origin, _discarder(origin)), origin.host, origin.port,
                    ssl=origin.ssl, server_hostname=origin.host if origin.ssl is not None else None)
        except TimeoutError:
            raise TargetTimeout(f"no connection to {origin.base} within {self.connect_timeout:g} s") from None
        except OSError as exc:  # refused, unreachable, DNS (gaierror), TLS (SSLError)
            raise TargetUnreachable(f"cannot connect to {origin.base}: {exc!r}") from exc
        return conn

    def close(self) -> None:
        self._closed = True
        for origin in self._by_key.values():
            while origin.idle:
                origin.idle.pop().close()
