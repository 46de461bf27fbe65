"""albauth's HTTP/1.1 client for targets: keep-alive pools per origin, httptools parsing,
bodies streamed both ways (see client.py, pool.py, protocol.py)."""

from albauth.upstream.client import MalformedRequestHead, UpstreamClient
from albauth.upstream.errors import (
    MalformedResponse,
    TargetDisconnected,
    TargetTimeout,
    TargetUnreachable,
    UpstreamError,
)
from albauth.upstream.pool import Origin, Pool
from albauth.upstream.protocol import Connection

__all__ = [
    "Connection", "MalformedRequestHead", "MalformedResponse", "Origin", "Pool", "TargetDisconnected",
    "TargetTimeout", "TargetUnreachable", "UpstreamClient", "UpstreamError",
]
