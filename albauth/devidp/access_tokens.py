"""Access tokens: RS256 JWTs in the RFC 9068 profile (authlib's generator and validator),
with every timestamp taken from the provider's clock instead of `time.time()` so tests
can expire a token by advancing a `FakeClock`."""

from __future__ import annotations

import json
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc6750.errors import InsufficientScopeError, InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator, JWTBearerTokenValidator
from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from albauth.clock import Clock

from .cognito_claims import access_token_claims
from .keys import KeyRing
from .models import Client, SignedInUser

REFRESH_TOKEN_LENGTH = 48


class AccessTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(self, issuer: str, keys: KeyRing, clock: Clock, ttl: int, *, cognito: bool = False) -> None:
        super().__init__(
            issuer,
            refresh_token_generator=lambda **_: generate_token(REFRESH_TOKEN_LENGTH),
            expires_generator=lambda client, grant_type: ttl,
        )
        self.keys = keys
        self.clock = clock
        self.ttl = ttl
        self.cognito = cognito

    def get_jwks(self) -> RSAKey:
        return self.keys.current

    def get_auth_time(self, user: SignedInUser | None) -> int | None:
        return user.auth_time if user else None

    def access_token_generator(self, client: Client, grant_type: str,
                               user: SignedInUser | None, scope: str) -> str:
        # Same claims as authlib's RFC 9068 generator, which reads time.time() itself
        # and omits `kid`; relying parties choose the key by kid after a rotation.
        now = int(self.clock())
        if self.cognito and user:
            # Cognito's header is {kid, alg} (jwt.encode would add typ), its claims its own.
            shaped = access_token_claims(user, issuer=self.issuer, client_id=client.get_client_id(),
                                         scope=scope, now=now, ttl=self.ttl)
            payload = json.dumps(shaped, separators=(",", ":")).encode()
            return jws.serialize_compact(self.keys.header(), payload, self.get_jwks(), [self.alg])
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


class CognitoAccessTokenValidator(BearerTokenValidator):  # type: ignore[misc]
    """/oauth2/userInfo's check of a Cognito-shaped access token: signed by the pool's
    key, its issuer, unexpired, `token_use` "access" (an ID token is refused, as by
    Cognito), with the `openid` scope. RFC 9068's `aud` and `typ` are not Cognito's."""

    def __init__(self, issuer: str, keys: KeyRing, clock: Clock) -> None:
        super().__init__()
        self.issuer = issuer
        self.keys = keys
        self.clock = clock

    def authenticate_token(self, token_string: str) -> dict[str, Any] | None:
        try:
            token = jwt.decode(token_string, self.keys.public_keyset(), algorithms=["RS256"])
        except (JoseError, ValueError):
            return None
        return dict(token.claims)

    def validate_token(self, token: dict[str, Any] | None, scopes: list[str] | None,
                       request: Any, **_: Any) -> None:
        if (not token or token.get("iss") != self.issuer or token.get("token_use") != "access"
                or not isinstance(token.get("exp"), int) or token["exp"] <= self.clock()):
            raise InvalidTokenError(realm=self.realm, extra_attributes=self.extra_attributes)
        if self.scope_insufficient(token.get("scope", ""), scopes):
            raise InsufficientScopeError()
