"""albauth's HTTP/1.1 client for targets: keep-alive pools per origin, httptools parsing,
bodies streamed both ways. The modules inside are private (`_client.py` sends a request,
`_pool.py` keeps connections per origin, `_protocol.py` is one connection, `_tunnel.py` a
connection for an upgrade request, `_errors.py` what can go wrong); what this package exports is its surface."""

from albauth.upstream._client import MalformedRequestHead, UpstreamClient
from albauth.upstream._errors import (
    MalformedResponse,
    TargetDisconnected,
    TargetTimeout,
    TargetUnreachable,
    UpstreamError,
)
from albauth.upstream._pool import Pool, TargetOrigin
from albauth.upstream._protocol import Connection
from albauth.upstream._tunnel import Tunnel, open_tunnel

__all__ = [
    "Connection", "MalformedRequestHead", "MalformedResponse", "Pool", "TargetDisconnected", "TargetOrigin",
    "TargetTimeout", "TargetUnreachable", "Tunnel", "UpstreamClient", "UpstreamError", "open_tunnel",
]
