"""What can go wrong talking to a target, as types; proxy.py maps them to ALB's pages in one
place: `TargetTimeout` is 504, every other `UpstreamError` is 502."""

from __future__ import annotations


class UpstreamError(Exception):
    """The target could not give us a usable response."""


class TargetUnreachable(UpstreamError):
    """Connecting failed: refused, unreachable, DNS, TLS handshake or certificate."""


class TargetDisconnected(UpstreamError):
    """The connection ended (EOF or reset) before the response was complete."""


class TargetTimeout(UpstreamError):
    """No connection within the connect timeout, or no progress within the idle timeout."""


class MalformedResponse(UpstreamError):
    """Not HTTP/1.x as RFC 9112 has it, or a response head over ALB's 32 KB limit."""
