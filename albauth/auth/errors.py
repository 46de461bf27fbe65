"""Failures talking to the OpenID provider, as ALB reports them.

Each type carries ALB's status code, its access-log `error_reason` and the CloudWatch
metric it increments (spec 2.4-2.6, 6.2), so whoever answers the request only needs
`AlbError`'s fields. Messages never contain tokens, codes or secrets: they get logged.
"""

from __future__ import annotations

from typing import ClassVar

from albauth.error_pages import AlbError
from albauth.session.errors import SessionStoreError, SessionTooLarge

#: The IdP could not be reached, or the action/IdP is misconfigured (spec 6.3).
ELB_AUTH_ERROR = "ELBAuthError"
#: The IdP (or its answer) denied the user, e.g. a code used twice (spec 6.3).
ELB_AUTH_FAILURE = "ELBAuthFailure"


class IdPError(AlbError):
    """Base of every failure in the relying-party conversation with the provider."""

    # Per-type defaults; AlbError's `status`, `error_reason`, `metric` come from them.
    default_status: ClassVar[int] = 500
    default_reason: ClassVar[str] = "AuthUnhandledException"
    default_metric: ClassVar[str] = ELB_AUTH_ERROR

    def __init__(self, message: str = "") -> None:
        cls = type(self)
        super().__init__(cls.default_status, cls.default_reason, message, cls.default_metric)


class DiscoveryError(IdPError):
    """`<issuer>/.well-known/openid-configuration` or the JWKS could not be fetched or
    made no sense. ALB has no such step (its endpoints are configured, it uses no
    JWKS), so it has no reason code of its own; it is an unusable action config."""


class InvalidGrant(IdPError):
    """The token endpoint said `invalid_grant`: the code is invalid, expired or was
    already used (a replayed callback), or the refresh token is no longer good."""

    default_status = 401
    default_reason = "AuthInvalidGrantError"
    default_metric = ELB_AUTH_FAILURE

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.oauth_error = "invalid_grant"


class TokenEndpointFailed(IdPError):
    """Any other non-2xx from the token endpoint. 561 is the emulator default (6.2)."""

    default_status = 561
    default_reason = "AuthTokenEpRequestFailed"

    def __init__(self, message: str = "", *, http_status: int | None = None,
                 oauth_error: str | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.oauth_error = oauth_error


class TokenEndpointTimeout(IdPError):
    """No connection to the token endpoint, or no full answer within the timeout."""

    default_reason = "AuthTokenEpRequestTimeout"


class InvalidTokenResponse(IdPError):
    """A 2xx token response that is not JSON, or lacks access_token (or, for a code
    exchange, id_token: ALB needs the `openid` scope to yield an ID token)."""

    default_status = 401
    default_reason = "AuthInvalidTokenResponse"
    default_metric = ELB_AUTH_FAILURE


class InvalidIdToken(IdPError):
    """The ID token failed a signature, algorithm or claim check."""

    default_status = 401
    default_reason = "AuthInvalidIdToken"
    default_metric = ELB_AUTH_FAILURE


class UserinfoEndpointFailed(IdPError):
    """Non-2xx from the UserInfo endpoint."""

    default_reason = "AuthUserinfoEpRequestFailed"

    def __init__(self, message: str = "", *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class UserinfoEndpointTimeout(IdPError):
    """No connection to the UserInfo endpoint, or no full answer within the timeout."""

    default_reason = "AuthUserinfoEpRequestTimeout"


class InvalidUserinfoResponse(IdPError):
    """A 2xx UserInfo body that is not a JSON object with a string `sub`."""

    default_status = 401
    default_reason = "AuthInvalidUserinfoResponse"
    default_metric = ELB_AUTH_FAILURE


class UserClaimsTooLarge(IdPError):
    """User claims (+ access token) over ALB's 11 KiB limit: HTTP 500 (spec 2.6).

    The 11 KiB check belongs to whoever builds the session; the OIDC client only
    raises this when a UserInfo body is so large it stops reading it."""

    default_reason = "AuthUserinfoResponseSizeExceeded"
    default_metric = "ELBAuthUserClaimsSizeExceeded"


__all__ = [
    "ELB_AUTH_ERROR",
    "ELB_AUTH_FAILURE",
    "DiscoveryError",
    "IdPError",
    "InvalidGrant",
    "InvalidIdToken",
    "InvalidTokenResponse",
    "InvalidUserinfoResponse",
    "TokenEndpointFailed",
    "TokenEndpointTimeout",
    "UserClaimsTooLarge",
    "UserinfoEndpointFailed",
    "UserinfoEndpointTimeout",
]


def store_failure(exc: SessionStoreError) -> AlbError:
    """ALB's answer when the session store fails (one place for every caller): a session
    too large for ALB's four cookie shards is a 500, as ALB answers it; a store that cannot
    be reached fails closed with 503 and nothing is forwarded."""
    if isinstance(exc, SessionTooLarge):
        return AlbError(500, "AuthUserinfoResponseSizeExceeded", str(exc), ELB_AUTH_ERROR)
    return AlbError(503, "AuthSessionStoreUnavailable", str(exc), ELB_AUTH_ERROR)
