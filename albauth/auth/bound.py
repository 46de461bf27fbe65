"""One authenticate action config with what it needs at run time."""

from __future__ import annotations

from dataclasses import dataclass

from albauth.auth.oidc_client import OidcClient
from albauth.auth.static_identity import StaticIdentity
from albauth.config.model import AuthenticateConfig

__all__ = ["BoundAction"]


@dataclass(frozen=True)
class BoundAction:
    config: AuthenticateConfig
    binding: str  # albauth.session.model.binding_for: sessions are shared within a binding
    client: OidcClient
    static: StaticIdentity | None = None  # a fixed user instead of the provider (test suites)
