"""Access tokens: RS256 JWTs in the RFC 9068 profile (authlib's generator and validator),
with every timestamp taken from the provider's clock instead of `time.time()` so tests
can expire a token by advancing a `FakeClock`."""

from __future__ import annotations

from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc6750.errors import InsufficientScopeError, InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator, JWTBearerTokenValidator
from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from albauth.clock import Clock

from .keys import KeyRing
from .models import Client, SignedInUser

REFRESH_TOKEN_LENGTH = 48


class AccessTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(self, issuer: str, keys: KeyRing, clock: Clock, ttl: int) -> None:
        super().__init__(
            issuer,
            refresh_token_generator=lambda **_: generate_token(REFRESH_TOKEN_LENGTH),
            expires_generator=lambda client, grant_type: ttl,
        )
        self.keys = keys
        self.clock = clock

    def get_jwks(self) -> RSAKey:
        return self.keys.current

    def get_auth_time(self, user: SignedInUser | None) -> int | None:
        return user.auth_time if user else None

    def access_token_generator(self, client: Client, grant_type: str,
                               user: SignedInUser | None, scope: str) -> str:
        # Same claims as authlib's RFC 9068 generator, which reads time.time() itself
        # and omits `kid`; relying parties choose the key by kid after a rotation.
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.get_user_id() if user else client.get_client_id(),
            "aud": self.get_audiences(client, user, scope),
            "client_id": client.get_client_id(),
            "scope": scope,
            "iat": now,
            "exp": now + self._get_expires_in(client, grant_type),
            "jti": self.get_jti(client, grant_type, user, scope),
        }
        if auth_time := self.get_auth_time(user):
            claims["auth_time"] = auth_time
        if user:
            claims["username"] = user.user.username  # Cognito's access tokens carry it too
        header = self.keys.header(typ="at+jwt")
        return jwt.encode(header, claims, self.get_jwks(), [self.alg])


class AccessTokenValidator(JWTBearerTokenValidator):  # type: ignore[misc]
    """Checks signature, issuer and expiry of our own access tokens for /userinfo.
    The audience is whichever client the token was issued to, so it is not pinned."""

    def __init__(self, issuer: str, keys: KeyRing, clock: Clock) -> None:
        super().__init__(issuer=issuer, resource_server=None)
        self.keys = keys
        self.clock = clock

    def get_jwks(self) -> KeySet:
        return self.keys.public_keyset()

    def validate_token(self, token: JWTAccessTokenClaims, scopes: list[str] | None,
                       request: Any, **_: Any) -> None:
        try:
            # authlib validates against the wall clock; the provider's clock decides here.
            token.validate(now=int(self.clock()))
        except JoseError as exc:
            raise InvalidTokenError(realm=self.realm, extra_attributes=self.extra_attributes) from exc
        if self.scope_insufficient(token.get("scope", []), scopes):
            raise InsufficientScopeError()
