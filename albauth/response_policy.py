"""ALB's listener response-header attributes at run time (albauth.config.listener_attributes):
the configured headers on every response, and `Server: awselb/2.0` on ALB's own answers only
while `routing.http.response.server.enabled` is true (its default).

A target's response that albauth relays whole, and every answer albauth makes itself (error
pages, fixed responses, redirects, the login flow's), are finished here before they are sent;
a streamed target response or a WebSocket 101 gets the headers from the forwarder, which
writes them before the first byte (`Forwarder.forward(replace_headers=...)`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import hdrs, web

from albauth.config.model import ListenerAttributes

__all__ = ["ResponsePolicy"]


class _WithoutServer(web.Response):
    """aiohttp adds `Server: Python/... aiohttp/...` to a response without one: drop it."""

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        self.headers.popall(hdrs.SERVER, None)


@dataclass(frozen=True)
class ResponsePolicy:
    headers: tuple[tuple[str, str], ...]
    server_header: bool

    @classmethod
    def from_attributes(cls, attributes: ListenerAttributes) -> ResponsePolicy:
        return cls(attributes.response_headers, attributes.server_header)

    @property
    def changes_responses(self) -> bool:
        return bool(self.headers) or not self.server_header

    def finish(self, resp: web.StreamResponse) -> web.StreamResponse:
        """`resp` with the configured headers (replacing the target's: ALB "updates the header
        value"), and without a Server field when it is albauth's own and the attribute is off."""
        if resp.prepared:
            return resp
        for name, value in self.headers:
            resp.headers[name] = value
        if self.server_header or type(resp) is not web.Response:
            return resp  # a relayed target response is a subclass, with the target's own Server
        own = resp.headers.copy()
        own.popall(hdrs.SERVER, None)
        return _WithoutServer(status=resp.status, reason=resp.reason, body=resp.body, headers=own)
