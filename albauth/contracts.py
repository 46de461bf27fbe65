"""The types that cross layers: what the listener asks of the authenticate action, and
what the action hands back. Both sides import this module; neither imports the other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from albauth.config.model import AuthenticateConfig, JwtValidationConfig

__all__ = ["NOT_AUTHENTICATED", "AuthPassed", "Authenticator", "BearerValidator", "ClientOrigin"]


@dataclass(frozen=True)
class ClientOrigin:
    """How the client reached albauth: the scheme and port of the URL it used."""

    scheme: str  # http | https
    port: str
    secure_cookies: bool


@dataclass(frozen=True)
class AuthPassed:
    """A request the authenticate action lets through."""

    headers: Sequence[tuple[str, str]]  # x-amzn-oidc-* for the target (empty under allow)
    set_cookies: Sequence[str] = ()  # re-issued session shards after a refresh


NOT_AUTHENTICATED = AuthPassed(())  # immutable: shared by every request without auth headers


class Authenticator(Protocol):
    """The authenticate action as the listener sees it."""

    async def check(self, request: web.BaseRequest, config: AuthenticateConfig,
                    origin: ClientOrigin) -> AuthPassed | web.StreamResponse: ...

    async def login(self, request: web.BaseRequest, config: AuthenticateConfig, origin: ClientOrigin, *,
                    host: str, return_url: str) -> web.StreamResponse: ...

    async def callback(self, request: web.BaseRequest, origin: ClientOrigin) -> web.StreamResponse: ...

    async def logout(self, request: web.BaseRequest, origin: ClientOrigin) -> web.StreamResponse: ...


class BearerValidator(Protocol):
    """ALB's jwt-validation action as the listener sees it: None lets the request through
    as it came, a response refuses it."""

    async def check(self, request: web.BaseRequest, config: JwtValidationConfig) -> web.StreamResponse | None: ...
