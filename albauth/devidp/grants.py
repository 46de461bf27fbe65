"""The authorization-code and refresh-token grants, on authlib's grant classes, with
the in-memory store behind them and the provider's clock deciding every expiry."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, OpenIDToken

from . import cognito_claims
from .claims import user_claims
from .models import TOKEN_AUTH_METHODS, AuthorizationCode, Client, RefreshToken, SignedInUser
from .parts import ProviderParts


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(TOKEN_AUTH_METHODS)
    server: ProviderParts

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        user: SignedInUser = request.user
        self.server.store.codes[code] = AuthorizationCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            sub=user.user.sub,
            auth_time=user.auth_time,
            expires_at=self.server.clock() + self.server.settings.code_ttl,
            nonce=data.get("nonce") or None,
            code_challenge=data.get("code_challenge") or None,
            code_challenge_method=data.get("code_challenge_method") or None,
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        item = self.server.store.codes.get(code)
        if item is None or item.client_id != client.get_client_id():
            return None
        if item.expires_at <= self.server.clock():
            del self.server.store.codes[code]
            return None
        return item

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        # Deleting on redemption is what makes a code single-use (RFC 6749 4.1.2).
        self.server.store.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> SignedInUser | None:
        code = authorization_code
        user = self.server.settings.user_by_sub(code.sub)
        return SignedInUser(user, code.auth_time, code.event_id, code.origin_jti) if user else None


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(TOKEN_AUTH_METHODS)
    server: ProviderParts

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        item = self.server.store.refresh_tokens.get(refresh_token)
        if item is None:
            return None
        if item.expires_at <= self.server.clock():
            del self.server.store.refresh_tokens[refresh_token]
            return None
        return item

    def authenticate_user(self, refresh_token: RefreshToken) -> SignedInUser | None:
        rt = refresh_token
        user = self.server.settings.user_by_sub(rt.sub)
        return SignedInUser(user, rt.auth_time, rt.event_id, rt.origin_jti) if user else None

    def issue_token(self, user: SignedInUser, refresh_token: RefreshToken) -> dict[str, Any]:
        # Rotation is per client: Cognito (the default here) keeps the refresh token;
        # other IdPs hand out a new one on every use and retire the old.
        scope = self.request.payload.scope or refresh_token.get_scope()
        rotate = self.request.client.config.rotate_refresh_tokens
        token: dict[str, Any] = self.generate_token(user=user, scope=scope, include_refresh_token=rotate)
        return token

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        if self.request.client.config.rotate_refresh_tokens:
            self.server.store.refresh_tokens.pop(refresh_token.refresh_token, None)


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 only: discovery advertises just S256, and `plain` protects nothing."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": CodeChallenge.CODE_CHALLENGE_METHODS["S256"]}

    def __init__(self) -> None:
        super().__init__(required=False)  # confidential clients may skip PKCE

    def validate_code_challenge(self, grant: grants.BaseGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        # RFC 7636 4.3 defaults a missing method to "plain", which is not supported.
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class _IdTokenClaims:
    """ID token contents shared by the code and refresh grants (authlib's
    `OpenIDToken` hooks), with timestamps from the provider's clock."""

    def __init__(self, server: ProviderParts) -> None:
        self.server = server

    def resolve_client_private_key(self, client: Client) -> Any:
        return self.server.keys.current

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return self.server.keys.header()

    def get_compatible_claims(self, request: OAuth2Request) -> dict[str, Any]:
        now = int(self.server.clock())
        claims: dict[str, Any] = {
            "iss": self.server.settings.issuer,
            # A single string, as Cognito and most IdPs send for one audience.
            "aud": request.client.get_client_id(),
            "iat": now,
            "exp": now + self.server.settings.id_token_ttl,
            "auth_time": request.user.auth_time,
        }
        if request.refresh_token is not None:
            claims["auth_time"] = request.refresh_token.auth_time
        return claims

    def generate_user_info(self, user: SignedInUser, scope: str) -> dict[str, Any]:
        if self.server.settings.cognito is not None:
            return cognito_claims.id_token_claims(user)
        return user_claims(user.user, scope)


class IdpOpenIDCode(_IdTokenClaims, OpenIDCode):  # type: ignore[misc]
    def __init__(self, server: ProviderParts) -> None:
        _IdTokenClaims.__init__(self, server)
        OpenIDCode.__init__(self, require_nonce=False)

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        # Repeated nonces are accepted, as at Cognito: detecting a replayed ID token
        # is the relying party's job (OIDC Core 3.1.3.7, step 11), which is what
        # albauth must be tested on, and fixed nonces keep tests simple.
        return False


class IdpOpenIDRefresh(_IdTokenClaims, OpenIDToken):  # type: ignore[misc]
    """A fresh ID token on refresh (OIDC Core 12.2), which ALB relies on."""
