"""Connecting to Redis from a URL: one server, Sentinel or Cluster, through redis-py.

URL forms (`ALBAUTH_SESSION_STORE=<url>` or `albauth.session.redis_url`):

    redis://[[user]:password@]host[:port][/db]
    rediss://[[user]:password@]host[:port][/db]             TLS (ssl_* query options)
    unix://[[user]:password@]/path/to/redis.sock[?db=N]
    redis+sentinel://[[user]:password@]host:port[,host:port...]/service_name[/db]
    redis+cluster://[[user]:password@]host:port[,host:port...]

Query options on every form: `socket_timeout` and `socket_connect_timeout` (seconds,
default 1 each, so a dead Redis fails fast), `max_connections` (default 64 per
process; a burst beyond it queues for a free connection, at most `socket_timeout`) and
`client_cache` (sessions each process keeps, exact through RESP3 client tracking,
albauth.session.redis_cache; default 10000, 0 = a GET per request; Cluster always GETs); the
single-server forms take any other redis-py URL option (`ssl_ca_certs`, ...). Sentinel
also takes `sentinel_password` (and `sentinel_username`) for the sentinels themselves (the URL's
password is the data nodes'); Sentinel and Cluster take `ssl=true` for TLS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

__all__ = ["DEFAULT_CLIENT_CACHE", "DEFAULT_MAX_CONNECTIONS", "DEFAULT_TIMEOUT", "Client", "Connector", "RedisTarget",
           "parse_redis_url"]

DEFAULT_TIMEOUT = 1.0
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_CLIENT_CACHE = 10_000

Client = aioredis.Redis | RedisCluster
Connector = Callable[[], tuple[Client, list[Callable[[], Awaitable[None]]]]]


@dataclass(frozen=True)
class RedisTarget:
    """A parsed URL; `connect()` makes the client (inside the running loop)."""

    kind: str  # "single" | "sentinel" | "cluster"
    url: str
    nodes: tuple[tuple[str, int], ...]
    service: str
    options: Mapping[str, Any]
    sentinel_options: Mapping[str, Any]
    client_cache: int = DEFAULT_CLIENT_CACHE

    @property
    def max_connections(self) -> int:
        return int(self.options["max_connections"])

    @property
    def wait_timeout(self) -> float:
        return float(self.options["socket_timeout"])

    def connect(self) -> tuple[Client, list[Callable[[], Awaitable[None]]]]:
        # One immediate retry on connection errors only: a pooled connection that died
        # with a restarted Redis is replaced transparently, while a refused connection or
        # a timeout (a hung Redis) fails at once instead of backing off for seconds.
        retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
        if self.kind == "single":
            # URL query options win over these keyword defaults (redis-py's rule).
            client = aioredis.Redis.from_url(self.url, retry=retry, **self.options)
            return client, [client.aclose]
        if self.kind == "sentinel":
            sentinel = Sentinel(list(self.nodes),  # type: ignore[no-untyped-call]
                                sentinel_kwargs={**self.sentinel_options, "retry": retry},
                                **self.options)
            master = sentinel.master_for(self.service, retry=retry)
            return master, [master.aclose] + [s.aclose for s in sentinel.sentinels]
        cluster = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in self.nodes],
                               retry=retry, **self.options)
        return cluster, [cluster.aclose]

    async def open_tracking(self) -> tuple[Any, Callable[[], Awaitable[None]]]:
        """One RESP3 connection of its own (albauth.session.redis_cache), to the server (or
        the Sentinel master) the pool talks to. Not for Cluster: tracking would need a
        connection per node, kept in step with resharding."""
        assert self.kind != "cluster"
        options = {k: v for k, v in self.options.items() if k != "max_connections"}
        if self.kind == "single":
            client = aioredis.Redis.from_url(self.url, protocol=3, **options)
        else:
            sentinel = Sentinel(list(self.nodes),  # type: ignore[no-untyped-call]
                                sentinel_kwargs=dict(self.sentinel_options), **options)
            client = sentinel.master_for(self.service, protocol=3)
        try:
            conn = await client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        except BaseException:
            await client.aclose()
            raise

        async def close() -> None:
            await conn.disconnect()
            await client.aclose()

        return conn, close


def parse_redis_url(url: str, timeout: float, connect_timeout: float) -> RedisTarget:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    options: dict[str, Any] = {
        "socket_timeout": float(query.pop("socket_timeout", timeout)),
        "socket_connect_timeout": float(query.pop("socket_connect_timeout", connect_timeout)),
        "max_connections": int(query.pop("max_connections", DEFAULT_MAX_CONNECTIONS)),
    }
    client_cache = int(query.pop("client_cache", DEFAULT_CLIENT_CACHE))
    if scheme in ("redis", "rediss", "unix"):
        from redis.asyncio.connection import parse_url

        # redis-py reads the URL's query itself: ours must not reach it.
        url = urlunsplit(parts._replace(query=urlencode(query)))
        parse_url(url)  # raises ValueError on a malformed URL, at startup
        return RedisTarget("single", url, (), "", options, {}, client_cache)
    if scheme not in ("redis+sentinel", "redis+cluster"):
        raise ValueError("the Redis URL must start with redis://, rediss://, unix://, "
                         "redis+sentinel:// or redis+cluster://")
    if query.pop("ssl", "false").lower() in ("1", "true", "yes"):
        options["ssl"] = True
    if parts.username:
        options["username"] = unquote(parts.username)
    if parts.password:
        options["password"] = unquote(parts.password)
    nodes = tuple(host_port(n, 26379 if scheme == "redis+sentinel" else 6379)
                  for n in parts.netloc.rpartition("@")[2].split(","))
    if scheme == "redis+cluster":
        if parts.path.strip("/"):
            raise ValueError("redis+cluster:// takes no path (Cluster has only db 0)")
        if query:
            raise ValueError(f"unknown Redis URL option(s): {', '.join(sorted(query))}")
        return RedisTarget("cluster", url, nodes, "", options, {}, 0)
    path = [unquote(p) for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise ValueError("redis+sentinel:// needs /service_name[/db]")
    if len(path) == 2:
        options["db"] = int(path[1])
    sentinel_options: dict[str, Any] = {
        k: options[k] for k in ("socket_timeout", "socket_connect_timeout", "ssl") if k in options}
    for name in ("password", "username"):
        if f"sentinel_{name}" in query:
            sentinel_options[name] = query.pop(f"sentinel_{name}")
    if query:
        raise ValueError(f"unknown Redis URL option(s): {', '.join(sorted(query))}")
    return RedisTarget("sentinel", url, nodes, path[0], options, sentinel_options, client_cache)


def host_port(node: str, default_port: int) -> tuple[str, int]:
    if node.startswith("["):  # [::1]:6379
        host, _, rest = node[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = node.partition(":")
    if not host:
        raise ValueError(f"no host in Redis node {node!r}")
    return host, int(port) if port else default_port
