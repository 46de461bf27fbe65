"""The relying-party side of OpenID Connect that ALB runs against the provider:
discovery, the code exchange and refresh (RFC 6749 §4.1.3, §6), UserInfo (OIDC Core
§5.3) and ID token validation (OIDC Core §3.1.3.7), with ALB's error mapping (spec
2.4-2.6, 4, 6.2).

Parsing and checks are plain functions (`discovery`, `tokens`, `userinfo`, `idtoken`);
the round trips are `idp_http`'s, the key set is `jwks`'s; `OidcClient` puts them
together for one provider.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from albauth.auth.discovery import discovery_url, parse_discovery
from albauth.auth.errors import (
    DiscoveryError,
    InvalidGrant,
    InvalidIdToken,
    InvalidTokenResponse,
    InvalidUserinfoResponse,
    TokenEndpointFailed,
    TokenEndpointTimeout,
    UserClaimsTooLarge,
    UserinfoEndpointFailed,
    UserinfoEndpointTimeout,
)
from albauth.auth.idp_http import IdpHttp
from albauth.auth.idtoken import check_algorithm, check_claims, peek
from albauth.auth.jwks import SigningKeys
from albauth.auth.provider_network import EnvProxies
from albauth.auth.tokens import (
    ClientAuthMethod,
    TokenSet,
    client_secret_basic,
    parse_token_error,
    parse_token_response,
)
from albauth.auth.userinfo import UserInfo, check_userinfo_subject, parse_userinfo_response
from albauth.clock import Clock, system_clock
from albauth.ops.log_values import printable

log = logging.getLogger(__name__)

#: When discovery was wanted only for optional fields (the JWKS URI) and failed, wait
#: this long before asking again, instead of on every login.
OPTIONAL_DISCOVERY_RETRY = 300.0


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str | None = None
    end_session_endpoint: str | None = None


class OidcClient:
    """One OpenID provider, as one ALB `authenticate-oidc` action talks to it.

    Endpoints given here win over discovery (ALB requires all three); whatever is
    missing is read once from the discovery document. The ID token is *not* checked by
    `exchange_code`/`refresh`: call `validate_id_token` with the login's nonce."""

    def __init__(self, http: aiohttp.ClientSession, *, issuer: str, client_id: str,
                 client_secret: str, client_auth: ClientAuthMethod = "post",
                 authorization_endpoint: str | None = None,
                 token_endpoint: str | None = None, userinfo_endpoint: str | None = None,
                 jwks_uri: str | None = None, timeout: float = 10.0,
                 clock: Clock = system_clock, proxies: EnvProxies | None = None) -> None:
        if client_auth not in ("post", "basic"):
            raise ValueError(f"client_auth must be 'post' or 'basic', not {client_auth!r}")
        self._http = IdpHttp(http, timeout, proxies)
        self.issuer = issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self.client_auth = client_auth
        self._configured: dict[str, str | None] = {
            "authorization_endpoint": authorization_endpoint,
            "token_endpoint": token_endpoint,
            "userinfo_endpoint": userinfo_endpoint,
            "jwks_uri": jwks_uri,
        }
        self._clock = clock

        self._metadata: ProviderMetadata | None = None
        self._metadata_lock = asyncio.Lock()
        self._optional_discovery_retry_at = 0.0

        self._signing_keys = SigningKeys(self._http.get_json)

    def __repr__(self) -> str:
        return f"OidcClient(issuer={self.issuer!r}, client_id={self.client_id!r})"

    # -- discovery -----------------------------------------------------------------

    @property
    def metadata_loaded(self) -> bool:
        """The endpoints are known for good: configured, or read from discovery once.
        False while a discovery this client uses has not succeeded yet (readiness)."""
        return self._metadata is not None

    async def metadata(self) -> ProviderMetadata:
        """The provider's endpoints. Discovery failures raise DiscoveryError (500,
        AuthUnhandledException, ELBAuthError) when a required endpoint is missing and
        are not cached; when only the JWKS URI was wanted, the client goes on without
        one (claims-only ID token checks, like ALB) and retries discovery later."""
        if self._metadata is not None:
            return self._metadata
        async with self._metadata_lock:
            if self._metadata is not None:
                return self._metadata
            found = dict(self._configured)
            required_missing = [name for name in ("authorization_endpoint", "token_endpoint",
                                                  "userinfo_endpoint") if not found[name]]
            if not required_missing and found["jwks_uri"]:
                self._metadata = self._build_metadata(found)
                return self._metadata
            if not required_missing and self._clock() < self._optional_discovery_retry_at:
                return self._build_metadata(found)
            try:
                document = await self._http.get_json(discovery_url(self.issuer), "discovery")
                discovered = parse_discovery(document, self.issuer)
            except DiscoveryError:
                if required_missing:
                    raise
                log.warning("discovery for %s failed; ID token signatures will not be checked",
                            self.issuer)
                self._optional_discovery_retry_at = self._clock() + OPTIONAL_DISCOVERY_RETRY
                return self._build_metadata(found)
            for name, url in discovered.items():
                if not found.get(name):
                    found[name] = url
            missing = [name for name in required_missing if not found[name]]
            if missing:
                raise DiscoveryError(f"discovery document has no {', '.join(missing)}")
            self._metadata = self._build_metadata(found)
            return self._metadata

    def _build_metadata(self, found: Mapping[str, str | None]) -> ProviderMetadata:
        return ProviderMetadata(
            issuer=self.issuer,
            authorization_endpoint=found["authorization_endpoint"] or "",
            token_endpoint=found["token_endpoint"] or "",
            userinfo_endpoint=found["userinfo_endpoint"] or "",
            jwks_uri=found.get("jwks_uri") or None,
            end_session_endpoint=found.get("end_session_endpoint") or None,
        )

    # -- token endpoint --------------------------------------------------------------

    async def exchange_code(self, code: str, redirect_uri: str, *,
                            code_verifier: str | None = None) -> TokenSet:
        """RFC 6749 §4.1.3 (+ RFC 7636 §4.5). The response must carry an ID token."""
        params = [("grant_type", "authorization_code"), ("code", code),
                  ("redirect_uri", redirect_uri)]
        if code_verifier is not None:
            params.append(("code_verifier", code_verifier))
        return await self._token_request(params, require_id_token=True)

    async def refresh(self, refresh_token: str) -> TokenSet:
        """RFC 6749 §6. Raises the same types as `exchange_code`; the caller sends the
        user back to the IdP on any of them (spec 4). `refresh_token` is None in the
        result when the provider did not rotate it: keep the old one."""
        params = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)]
        return await self._token_request(params, require_id_token=False)

    async def _token_request(self, params: list[tuple[str, str]], *,
                             require_id_token: bool) -> TokenSet:
        endpoint = (await self.metadata()).token_endpoint
        headers = {"Accept": "application/json",
                   "Content-Type": "application/x-www-form-urlencoded"}
        if self.client_auth == "basic":
            headers["Authorization"] = client_secret_basic(self.client_id, self._client_secret)
        else:
            params = [*params, ("client_id", self.client_id),
                      ("client_secret", self._client_secret)]
        status, body = await self._http.call("POST", endpoint, what="token endpoint",
                                        headers=headers, data=urlencode(params).encode(),
                                        unreachable=TokenEndpointTimeout,
                                        too_large=InvalidTokenResponse)
        if 200 <= status < 300:
            try:
                return parse_token_response(body, require_id_token=require_id_token)
            except InvalidTokenResponse as exc:
                log.warning("token endpoint %s: %s", endpoint, printable(str(exc)))
                raise
        error = parse_token_error(body)
        log.warning("token endpoint %s answered %d (error=%s)", endpoint, status, printable(str(error), 64))
        # RFC 6749 §5.2 says 400; a few servers answer 401. Either way the code (or
        # refresh token) is dead, which ALB counts as a failure, not an error.
        if 400 <= status < 500 and error == "invalid_grant":
            raise InvalidGrant(f"token endpoint answered {status} invalid_grant")
        raise TokenEndpointFailed(f"token endpoint answered {status} (error={error})",
                                  http_status=status, oauth_error=error)

    # -- UserInfo ----------------------------------------------------------------------

    async def userinfo(self, access_token: str, *, sub: str | None = None) -> UserInfo:
        """OIDC Core §5.3 with the access token as a Bearer header (RFC 6750 §2.1).
        With `sub` (the ID token's, or the session's on a refresh), an answer about
        another user is refused: §5.3.2 says its values MUST NOT be used."""
        endpoint = (await self.metadata()).userinfo_endpoint
        status, body = await self._http.call(
            "GET", endpoint, what="userinfo endpoint",
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            unreachable=UserinfoEndpointTimeout, too_large=UserClaimsTooLarge)
        if not 200 <= status < 300:
            log.warning("userinfo endpoint %s answered %d", endpoint, status)
            raise UserinfoEndpointFailed(f"userinfo endpoint answered {status}",
                                         http_status=status)
        try:
            info = parse_userinfo_response(body)
            check_userinfo_subject(info, sub)
        except InvalidUserinfoResponse as exc:
            log.warning("userinfo endpoint %s: %s", endpoint, printable(str(exc)))
            raise
        return info

    # -- ID token ------------------------------------------------------------------------

    async def validate_id_token(self, id_token: str, *,
                                nonce: str | None = None) -> Mapping[str, Any]:
        """The ID token's claims, once it passed the checks of `idtoken`. The signature
        is checked when a JWKS URI is known; without one (ALB's own case) only the
        algorithm and the claims are. Raises InvalidIdToken (401)."""
        try:
            header, claims = peek(id_token)
            check_algorithm(header)
            jwks_uri = (await self.metadata()).jwks_uri
            if jwks_uri is not None:
                await self.verify_signature(id_token, jwks_uri)
            check_claims(claims, issuer=self.issuer, client_id=self.client_id,
                         now=self._clock(), nonce=nonce)
        except ValueError as exc:
            log.warning("ID token from %s refused: malformed", self.issuer)
            raise InvalidIdToken(f"ID token is malformed: {exc}") from None
        except InvalidIdToken as exc:
            log.warning("ID token from %s refused: %s", self.issuer, printable(str(exc)))
            raise
        return claims

    async def verify_signature(self, id_token: str, jwks_uri: str) -> None:
        """The signature of an ID token or logout token, against the provider's JWKS
        (refetched once for an unknown `kid`). Raises InvalidIdToken or DiscoveryError."""
        await self._signing_keys.verify(id_token, jwks_uri)


__all__ = [
    "ClientAuthMethod",
    "OidcClient",
    "ProviderMetadata",
    "TokenSet",
    "UserInfo",
    "client_secret_basic",
    "parse_token_error",
    "parse_token_response",
    "parse_userinfo_response",
]
