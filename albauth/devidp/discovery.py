"""The OpenID Provider Metadata document (OIDC Discovery 1.0, section 3)."""

from __future__ import annotations

from typing import Any

from .keys import ALG
from .models import TOKEN_AUTH_METHODS
from .server import SCOPES_SUPPORTED
from .settings import IdpSettings

_STANDARD_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name",
                    "preferred_username", "email", "email_verified", "groups")


def provider_metadata(settings: IdpSettings) -> dict[str, Any]:
    issuer = settings.issuer
    extra_claims = sorted({name for u in settings.users for name in u.claims})
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "end_session_endpoint": f"{issuer}/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": [ALG],
        "subject_types_supported": ["public"],
        "scopes_supported": list(SCOPES_SUPPORTED),
        "claims_supported": [*_STANDARD_CLAIMS, *(c for c in extra_claims if c not in _STANDARD_CLAIMS)],
        "prompt_values_supported": ["none", "login"],
    }


def cognito_metadata(settings: IdpSettings) -> dict[str, Any]:
    """A user pool's discovery document (`<issuer>/.well-known/openid-configuration`): the
    endpoints are on the pool's domain, the keys under the issuer; no end_session_endpoint,
    since Cognito's /logout takes `logout_uri`, not RP-Initiated Logout's parameters."""
    domain, issuer = settings.hosted_domain, settings.issuer
    return {
        "authorization_endpoint": f"{domain}/oauth2/authorize",
        "id_token_signing_alg_values_supported": [ALG],
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "response_types_supported": ["code"],
        "scopes_supported": list(SCOPES_SUPPORTED),
        "subject_types_supported": ["public"],
        "token_endpoint": f"{domain}/oauth2/token",
        "token_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
        "userinfo_endpoint": f"{domain}/oauth2/userInfo",
    }


def metadata_for(settings: IdpSettings) -> dict[str, Any]:
    return cognito_metadata(settings) if settings.cognito is not None else provider_metadata(settings)
