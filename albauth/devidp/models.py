"""What authlib's server needs to see: clients, authorization codes and refresh tokens
(authlib's `ClientMixin`, `AuthorizationCodeMixin`, `TokenMixin`), plus the in-memory
store that holds them. Everything lives in memory: the provider is for development and
tests, and a restart is a clean slate."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from .settings import IdpClient, IdpUser
from .uri_patterns import uri_matches_any

# The two methods ALB uses (client_secret_basic by default, client_secret_post when
# `UseClientSecretPost`-like setups ask for it); no public clients.
TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class SignedInUser:
    """A user plus when they typed their password: `auth_time` is carried from the
    login into every code, refresh token and ID token that follows."""

    user: IdpUser
    auth_time: int
    # Cognito's `event_id` (one per sign-in) and `origin_jti` (one per token family): the ID
    # and access tokens of one sign-in share them, and refreshed tokens keep them.
    event_id: str = ""
    origin_jti: str = ""

    def get_user_id(self) -> str:
        return self.user.sub


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    config: IdpClient

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": list(self.config.post_logout_redirect_uris)}

    def get_client_id(self) -> str:
        return self.config.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Patterns can't be a default; OIDC Core 3.1.2.1 makes redirect_uri required anyway.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or "openid"

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return uri_matches_any(redirect_uri, self.config.redirect_uris)

    def check_post_logout_redirect_uri(self, uri: str) -> bool:
        return uri_matches_any(uri, self.config.post_logout_redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.config.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in TOKEN_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "refresh_token":
            return self.config.issue_refresh_tokens
        return grant_type == "authorization_code"


@dataclass(frozen=True)
class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    auth_time: int
    expires_at: float
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    origin_jti: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


@dataclass(frozen=True)
class RefreshToken(TokenMixin):  # type: ignore[misc]
    refresh_token: str
    client_id: str
    sub: str
    scope: str
    auth_time: int
    expires_at: float
    event_id: str = ""
    origin_jti: str = ""

    def check_client(self, client: Client) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Store:
    """Codes, refresh tokens and browser sessions, keyed by their random values."""

    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    sessions: dict[str, SignedInUser] = field(default_factory=dict)
