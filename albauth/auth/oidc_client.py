"""The relying-party side of OpenID Connect that ALB runs against the provider:
discovery, the code exchange and refresh (RFC 6749 §4.1.3, §6), UserInfo (OIDC Core
§5.3) and ID token validation (OIDC Core §3.1.3.7), with ALB's error mapping (spec
2.4-2.6, 4, 6.2).

Parsing and checks are plain functions (here, in `discovery` and `idtoken`); only
`OidcClient` does I/O, over the aiohttp session it is given. Request construction is
done here rather than with Authlib's helpers: `authlib.oauth2.auth` puts the raw id and
secret in the Basic header, where RFC 6749 §2.3.1 wants them form-urlencoded first.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote_plus, urlencode

import aiohttp
from joserfc.jwk import Key

from albauth.auth.discovery import discovery_url, parse_discovery
from albauth.auth.errors import (
    DiscoveryError,
    IdPError,
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
from albauth.auth.idtoken import (
    UnknownKeyId,
    check_algorithm,
    check_claims,
    import_jwks,
    peek,
    verify_signature,
)
from albauth.clock import Clock, system_clock

log = logging.getLogger(__name__)

#: No IdP answer we use is anywhere near this; past it we stop reading.
MAX_RESPONSE_BYTES = 1024 * 1024

#: When discovery was wanted only for optional fields (the JWKS URI) and failed, wait
#: this long before asking again, instead of on every login.
OPTIONAL_DISCOVERY_RETRY = 300.0

ClientAuthMethod = Literal["post", "basic"]


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str | None = None
    end_session_endpoint: str | None = None


@dataclass(frozen=True)
class TokenSet:
    """A successful token response (RFC 6749 §5.1). Tokens are kept out of repr()."""

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None
    refresh_token: str | None = field(repr=False)
    id_token: str | None = field(repr=False)
    raw: Mapping[str, Any] = field(repr=False)

    def access_token_expires_at(self, now: float) -> float | None:
        """When the access token expires (spec 4): `now + expires_in`; without
        `expires_in`, the `exp` of the access token if it is a JWT (read, not
        verified: it only schedules a refresh); otherwise unknown."""
        if self.expires_in is not None:
            return now + self.expires_in
        try:
            _, claims = peek(self.access_token)
        except ValueError:
            return None
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            return None
        return float(exp)


@dataclass(frozen=True)
class UserInfo:
    claims: Mapping[str, Any]  # the JSON object, in the provider's key order
    raw: bytes = field(repr=False)  # the body as sent, for ALB's 11 KiB check

    @property
    def sub(self) -> str:
        return str(self.claims["sub"])


def _expires_in(value: Any) -> int | None:
    # RFC 6749 says a number; some providers send "3599". Anything else: unknown.
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _optional_str(doc: Mapping[str, Any], name: str) -> str | None:
    value = doc.get(name)
    return value if isinstance(value, str) and value else None


def parse_token_response(body: bytes, *, require_id_token: bool) -> TokenSet:
    """A 2xx token endpoint body. ALB's login needs an ID token (the `openid` scope);
    a refresh may or may not return a new one (OIDC Core §12.2)."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise InvalidTokenResponse("token response is not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidTokenResponse("token response is not a JSON object")
    access_token = _optional_str(doc, "access_token")
    if access_token is None:
        raise InvalidTokenResponse("token response has no access_token")
    id_token = _optional_str(doc, "id_token")
    if require_id_token and id_token is None:
        raise InvalidTokenResponse("token response has no id_token (is `openid` in the scope?)")
    return TokenSet(
        access_token=access_token,
        token_type=_optional_str(doc, "token_type") or "Bearer",
        expires_in=_expires_in(doc.get("expires_in")),
        refresh_token=_optional_str(doc, "refresh_token"),
        id_token=id_token,
        raw=doc,
    )


def parse_token_error(body: bytes) -> str | None:
    """The `error` code of an RFC 6749 §5.2 error response, if the body is one."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    error = doc.get("error") if isinstance(doc, dict) else None
    return error if isinstance(error, str) else None


def parse_userinfo_response(body: bytes) -> UserInfo:
    """A 2xx UserInfo body: a JSON object with a string `sub` (OIDC Core §5.3.2).
    A signed/encrypted (application/jwt) answer is not supported, as at ALB."""
    try:
        claims = json.loads(body)
    except ValueError:
        raise InvalidUserinfoResponse("userinfo response is not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidUserinfoResponse("userinfo response is not a JSON object")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidUserinfoResponse("userinfo response has no sub")
    return UserInfo(claims=claims, raw=bytes(body))


def client_secret_basic(client_id: str, client_secret: str) -> str:
    """The `Authorization` value for client_secret_basic: RFC 6749 §2.3.1 has id and
    secret form-urlencoded *before* they are joined with ':' and base64-encoded."""
    credentials = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(credentials.encode()).decode("ascii")


class _TooLarge(Exception):
    pass


async def _read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    if resp.content_length is not None and resp.content_length > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


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
                 clock: Clock = system_clock) -> None:
        if client_auth not in ("post", "basic"):
            raise ValueError(f"client_auth must be 'post' or 'basic', not {client_auth!r}")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._http = http
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
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock

        self._metadata: ProviderMetadata | None = None
        self._metadata_lock = asyncio.Lock()
        self._optional_discovery_retry_at = 0.0

        self._jwks: list[Key] | None = None
        self._jwks_version = 0
        self._jwks_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"OidcClient(issuer={self.issuer!r}, client_id={self.client_id!r})"

    # -- I/O ---------------------------------------------------------------------

    async def _call(self, method: str, url: str, *, what: str, headers: dict[str, str],
                    data: bytes | None = None, unreachable: type[IdPError],
                    too_large: type[IdPError]) -> tuple[int, bytes]:
        """One IdP round trip within the total timeout: (status, body). Redirects are
        not followed: a token endpoint or UserInfo answer is never a 3xx."""
        try:
            async with self._http.request(method, url, headers=headers, data=data,
                                          timeout=self._timeout, allow_redirects=False,
                                          raise_for_status=False) as resp:
                return resp.status, await _read_limited(resp, MAX_RESPONSE_BYTES)
        except _TooLarge:
            log.warning("%s %s answered over %d bytes", what, url, MAX_RESPONSE_BYTES)
            raise too_large(f"{what} response is over {MAX_RESPONSE_BYTES} bytes") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # `from None`: keep request details (headers with credentials) out of the
            # chained traceback.
            log.warning("%s %s unreachable: %s", what, url, type(exc).__name__)
            raise unreachable(f"{what} unreachable or timed out ({type(exc).__name__})") from None

    async def _get_json(self, url: str, what: str) -> Any:
        status, body = await self._call("GET", url, what=what,
                                        headers={"Accept": "application/json"},
                                        unreachable=DiscoveryError, too_large=DiscoveryError)
        if not 200 <= status < 300:
            log.warning("%s %s answered %d", what, url, status)
            raise DiscoveryError(f"{what} answered {status}")
        try:
            return json.loads(body)
        except ValueError:
            raise DiscoveryError(f"{what} is not JSON") from None

    # -- discovery -----------------------------------------------------------------

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
                document = await self._get_json(discovery_url(self.issuer), "discovery")
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
        status, body = await self._call("POST", endpoint, what="token endpoint",
                                        headers=headers, data=urlencode(params).encode(),
                                        unreachable=TokenEndpointTimeout,
                                        too_large=InvalidTokenResponse)
        if 200 <= status < 300:
            try:
                return parse_token_response(body, require_id_token=require_id_token)
            except InvalidTokenResponse as exc:
                log.warning("token endpoint %s: %s", endpoint, exc)
                raise
        error = parse_token_error(body)
        log.warning("token endpoint %s answered %d (error=%s)", endpoint, status, error)
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
        status, body = await self._call(
            "GET", endpoint, what="userinfo endpoint",
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            unreachable=UserinfoEndpointTimeout, too_large=UserClaimsTooLarge)
        if not 200 <= status < 300:
            log.warning("userinfo endpoint %s answered %d", endpoint, status)
            raise UserinfoEndpointFailed(f"userinfo endpoint answered {status}",
                                         http_status=status)
        try:
            info = parse_userinfo_response(body)
            if sub is not None and info.sub != sub:
                raise InvalidUserinfoResponse("userinfo sub does not match the ID token sub")
        except InvalidUserinfoResponse as exc:
            log.warning("userinfo endpoint %s: %s", endpoint, exc)
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
            log.warning("ID token from %s refused: %s", self.issuer, exc)
            raise
        return claims

    async def verify_signature(self, id_token: str, jwks_uri: str) -> None:
        version, keys, fresh = await self._signing_keys(jwks_uri)
        try:
            verify_signature(id_token, keys)
        except UnknownKeyId as exc:
            if fresh:
                raise InvalidIdToken(str(exc)) from None
            # The provider may have rotated its keys: refetch once, then give up.
            _, keys, _ = await self._signing_keys(jwks_uri, stale=version)
            try:
                verify_signature(id_token, keys)
            except UnknownKeyId as again:
                raise InvalidIdToken(str(again)) from None

    async def _signing_keys(self, jwks_uri: str, *,
                            stale: int | None = None) -> tuple[int, list[Key], bool]:
        """(version, keys, fetched-by-this-call). With `stale`, refetch unless another
        request already replaced that version meanwhile."""
        async with self._jwks_lock:
            fetched = False
            if self._jwks is None or stale == self._jwks_version:
                document = await self._get_json(jwks_uri, "jwks")
                try:
                    self._jwks = import_jwks(document)
                except ValueError as exc:
                    raise DiscoveryError(f"jwks: {exc}") from None
                self._jwks_version += 1
                fetched = True
            return self._jwks_version, self._jwks, fetched


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
