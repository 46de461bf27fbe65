"""UserInfo (OIDC Core 5.3) and RP-initiated logout (OIDC RP-Initiated Logout 1.0),
on authlib's endpoint classes."""

from __future__ import annotations

from typing import Any

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request
from authlib.oauth2.rfc6750.errors import InvalidTokenError
from authlib.oidc.core import UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from . import cognito_claims
from .claims import user_claims
from .models import Client
from .parts import ProviderParts


class IdpUserInfoEndpoint(UserInfoEndpoint):  # type: ignore[misc]
    server: ProviderParts

    def __call__(self, request: OAuth2Request) -> tuple[int, Any, list[tuple[str, str]]]:
        # authlib's version reaches for a framework-global request (acquire_token);
        # here the request is passed in, and the token is a JWT, not a stored model.
        token = self.resource_protector.validate_request(["openid"], request)
        user = self.server.settings.user_by_sub(token["sub"])
        if user is None:  # the user was removed from the file since the token was issued
            raise InvalidTokenError()
        if self.server.settings.cognito is not None:
            return 200, cognito_claims.userinfo(user), default_json_headers
        return 200, user_claims(user, token.get("scope", "")), default_json_headers


class IdpEndSessionEndpoint(EndSessionEndpoint):  # type: ignore[misc]
    server: ProviderParts

    def get_server_jwks(self) -> KeySet:
        return self.server.keys.public_keyset()

    def get_algorithms(self) -> list[str]:
        return ["RS256"]

    def _is_valid_post_logout_redirect_uri(self, client: Client, uri: str) -> bool:
        # Registered URIs may carry `*` wildcards (see uri_patterns).
        return client.check_post_logout_redirect_uri(uri)

    def is_post_logout_redirect_uri_legitimate(self, request: OAuth2Request, uri: str,
                                               client: Client, logout_hint: str | None) -> bool:
        # Cognito's /logout redirects on client_id + a registered logout_uri alone,
        # and ALB's logout flows are written for that; the URI was already matched.
        return True

    def _validate_id_token_hint(self, id_token_hint: str) -> dict[str, Any]:
        # As authlib's, minus its wall-clock `iat` check, which fails when a test's
        # clock runs ahead. Expiry is ignored on purpose (RP-Initiated Logout 2).
        try:
            token = jwt.decode(id_token_hint, self.get_server_jwks(), algorithms=self.get_algorithms())
        except (JoseError, ValueError) as exc:
            raise InvalidRequestError("'id_token_hint' was not issued by this provider") from exc
        if token.claims.get("iss") != self.server.settings.issuer:
            raise InvalidRequestError("'id_token_hint' was not issued by this provider")
        return dict(token.claims)

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        # The browser session lives in a cookie, which only the view can clear.
        pass
