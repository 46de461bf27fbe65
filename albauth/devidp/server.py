"""authlib's `AuthorizationServer`, wired to the in-memory store and the provider's
clock, with the thin aiohttp adapter authlib lacks.

authlib is synchronous and framework-neutral: it wants a request object whose body is
already parsed, and returns `(status, body, headers)`. The async view reads the body,
builds an `AiohttpOAuth2Request`, calls the server, and `handle_response` turns the
triple into an aiohttp response. Everything the server touches is in memory, so the
sync call never blocks the loop for long.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    InvalidClientError,
    OAuth2Payload,
    OAuth2Request,
    ResourceProtector,
)
from multidict import CIMultiDict, MultiDict, MultiDictProxy

from albauth.clock import Clock

from .access_tokens import AccessTokenGenerator, AccessTokenValidator, CognitoAccessTokenValidator
from .endpoints import IdpEndSessionEndpoint, IdpUserInfoEndpoint
from .grants import (
    AuthorizationCodeGrant,
    IdpOpenIDCode,
    IdpOpenIDRefresh,
    RefreshTokenGrant,
    S256CodeChallenge,
)
from .keys import KeyRing
from .models import Client, RefreshToken, Store
from .settings import IdpSettings

SCOPES_SUPPORTED = ("openid", "profile", "email", "offline_access")

# authlib refuses to build a request for a plain-http URI that is not loopback
# (InsecureTransportError). The dev IdP runs on plain http by design, also inside
# docker networks (`http://idp:9000`), so the check sees this placeholder and the
# real URL is set right after. Nothing in the server reads `uri` back for security.
_TRANSPORT_CHECK_URI = "https://devidp.invalid/"


class AiohttpPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, params: MultiDict[str]) -> None:
        # `data` keeps the first value of a repeated parameter; `datalist` keeps all of
        # them, which authlib uses to refuse repeated parameters (RFC 6749 3.1).
        self._data = {k: params[k] for k in params}
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for k, v in params.items():
            self._datalist[k].append(v)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class AiohttpOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """authlib's view of one HTTP request; `payload` is query and form together,
    as in authlib's Flask integration (`request.values`)."""

    def __init__(self, method: str, uri: str, headers: Any,
                 query: Iterable[tuple[str, str]] = (), form: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(method, _TRANSPORT_CHECK_URI, headers=headers)
        self.uri = uri
        self._query = MultiDict(query)
        self._form = MultiDict(form)
        self.payload = AiohttpPayload(MultiDict([*self._query.items(), *self._form.items()]))

    @property
    def args(self) -> MultiDict[str]:
        return self._query

    @property
    def form(self) -> MultiDict[str]:
        return self._form


async def read_oauth2_request(request: web.Request) -> AiohttpOAuth2Request:
    form: list[tuple[str, str]] = []
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        posted: MultiDictProxy[Any] = await request.post()
        form = [(k, v) for k, v in posted.items() if isinstance(v, str)]
    return AiohttpOAuth2Request(request.method, str(request.url), request.headers,
                                request.query.items(), form)


class IdpAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, settings: IdpSettings, keys: KeyRing, store: Store, clock: Clock) -> None:
        super().__init__(scopes_supported=list(SCOPES_SUPPORTED))
        self.settings = settings
        self.keys = keys
        self.store = store
        self.clock = clock
        self._clients = {c.client_id: Client(c) for c in settings.clients}

        cognito = settings.cognito is not None
        self.register_token_generator("default", AccessTokenGenerator(
            settings.issuer, keys, clock, settings.access_token_ttl, cognito=cognito))
        self.register_grant(AuthorizationCodeGrant, [IdpOpenIDCode(self), S256CodeChallenge()])
        self.register_grant(RefreshTokenGrant, [IdpOpenIDRefresh(self)])

        protector = ResourceProtector()
        validator = CognitoAccessTokenValidator if cognito else AccessTokenValidator
        protector.register_token_validator(validator(settings.issuer, keys, clock))
        self.register_endpoint(IdpUserInfoEndpoint(resource_protector=protector))
        self.register_endpoint(IdpEndSessionEndpoint)

    def query_client(self, client_id: str) -> Client | None:
        return self._clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        # Access and ID tokens are self-contained JWTs; only refresh tokens need a record.
        if refresh_token := token.get("refresh_token"):
            self.store.refresh_tokens[refresh_token] = RefreshToken(
                refresh_token=refresh_token,
                client_id=request.client.get_client_id(),
                sub=request.user.user.sub,
                scope=token.get("scope", ""),
                auth_time=request.user.auth_time,
                expires_at=self.clock() + self.settings.refresh_token_ttl,
                event_id=request.user.event_id,
                origin_jti=request.user.origin_jti,
            )

    def authenticate_client(self, request: OAuth2Request, methods: list[str],
                            endpoint: str = "token") -> Client:
        try:
            client: Client = super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as error:
            # authlib answers an unknown client_secret_post client with 400; RFC 6749
            # 5.2 allows 401, and one status for every client failure is simpler to
            # test against (ALB treats both the same).
            error.status_code = 401
            raise
        return client

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        raise TypeError("build the request with read_oauth2_request() first: the body is read asynchronously")

    def handle_response(self, status: int, body: Any, headers: Any) -> web.Response:
        hdrs = CIMultiDict(headers or [])
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        else:
            data = (body or "").encode() if isinstance(body, str) else (body or b"")
        return web.Response(status=status, body=data, headers=hdrs)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass  # no signal system; events are recorded by the views
