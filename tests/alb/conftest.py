"""Real parts over loopback for the authenticate-oidc conformance tests: the built-in
OpenID provider, an echo upstream, and albauth on an HTTPS listener for `app.test`.

Defaults follow spec section 12: authenticate-oidc, client id `app`, host `app.test`,
SessionCookieName AWSELBAuthSessionCookie, Scope openid, SessionTimeout 604800,
OnUnauthenticatedRequest authenticate."""

from __future__ import annotations

import base64
import copy
import errno
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import unused_port
from pytest_aiohttp import AiohttpServer

from albauth.app import Runtime
from albauth.clock import FakeClock
from albauth.config.load import load_text
from albauth.devidp import DevIdP, IdpClient, IdpUser, load_idp_settings
from albauth.ops.metrics import Metrics
from tests.support import self_signed_certificate

from .browser import Browser

START = 1_780_000_000.0
BIG_CLAIM_BYTES = 9000  # with a ~1 KB access token: under ALB's 11 KiB, over two cookie shards
CLIENT_ID = "app"
CLIENT_SECRET = "app-secret-0123456789"
NO_REFRESH_CLIENT = "app-no-refresh"
# A user whose UserInfo is large: `size` sets how many bytes of extra claim they carry.
BIG_USER = "big"
SECRET = "test-session-secret-0123456789-abcdefghijklmnop"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for app.test and other.test."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"), "app.test", "other.test")


def _incompressible(size: int) -> str:
    """Claim text that zlib cannot shrink much (sessions are compressed before sealing)."""
    import random

    return base64.b64encode(random.Random(7).randbytes(size * 3 // 4)).decode()[:size]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@dataclass
class Upstream:
    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last(self) -> dict[str, Any]:
        return self.seen[-1]


@pytest.fixture
async def upstream(aiohttp_server: AiohttpServer) -> Upstream:
    up = Upstream("")

    async def echo(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            up.seen.append({"headers": list(request.headers.items()), "path": request.path_qs,
                            "method": request.method})
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await ws.send_str(msg.data)
            return ws
        body = await request.read()
        record: dict[str, Any] = {"method": request.method, "path": request.path_qs,
                                  "headers": list(request.headers.items()), "body": body.decode(errors="replace")}
        up.seen.append(record)
        return web.json_response(record)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    # Targets behind ALB accept its large headers (x-amzn-oidc-data carries all the claims).
    server = await aiohttp_server(app, max_field_size=65536, max_line_size=65536)
    up.url = f"http://127.0.0.1:{server.port}"
    return up


@pytest.fixture
async def idp(aiohttp_server: AiohttpServer, clock: FakeClock) -> DevIdP:
    port = unused_port()
    settings = load_idp_settings(None, f"http://127.0.0.1:{port}")
    redirect_uris = ("https://app.test/oauth2/idpresponse", "https://other.test/oauth2/idpresponse")
    logout_uris = ("https://app.test/*",)
    clients = (IdpClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=redirect_uris,
                         post_logout_redirect_uris=logout_uris),
               IdpClient(client_id=NO_REFRESH_CLIENT, client_secret=CLIENT_SECRET, issue_refresh_tokens=False,
                         redirect_uris=redirect_uris, post_logout_redirect_uris=logout_uris))
    users = (IdpUser(username=BIG_USER, password=BIG_USER, email="big@example.com",
                     claims={"blob": _incompressible(BIG_CLAIM_BYTES)}),
             IdpUser(username="huge", password="huge", claims={"blob": "x" * 12_000}))
    settings = replace(settings, clients=settings.clients + clients, users=settings.users + users)
    provider = DevIdP(settings, clock=clock)
    await aiohttp_server(provider.app, port=port)
    return provider


def oidc_action(idp: DevIdP, **fields: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {"Issuer": idp.settings.issuer, "ClientId": CLIENT_ID, "ClientSecret": CLIENT_SECRET,
                           "AuthorizationEndpoint": f"{idp.settings.issuer}/authorize",
                           "TokenEndpoint": f"{idp.settings.issuer}/token",
                           "UserInfoEndpoint": f"{idp.settings.issuer}/userinfo"}
    extensions = fields.pop("albauth", None)
    cfg.update(fields)
    action: dict[str, Any] = {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": cfg}
    if extensions:
        action["albauth"] = extensions
    return action


@dataclass
class Alb:
    runtime: Runtime
    port: int
    admin: str
    browser: Browser
    doc: dict[str, Any]

    @property
    def metrics(self) -> Metrics:
        return self.runtime.metrics


class StartAlb(Protocol):
    async def __call__(self, *, auth: dict[str, Any] | None = None, rules: list[dict[str, Any]] | None = None,
                       default: list[dict[str, Any]] | None = None, albauth: dict[str, Any] | None = None,
                       listener: dict[str, Any] | None = None) -> Alb: ...


@pytest.fixture
async def start_alb(idp: DevIdP, upstream: Upstream, clock: FakeClock, tls_files: tuple[str, str],
                    tmp_path: Path) -> AsyncIterator[StartAlb]:
    """Start albauth; `rules` replaces the listener's rules, `default` its default actions,
    `auth` gives AuthenticateOidcConfig fields for the default authenticate rule."""
    started: list[tuple[Runtime, aiohttp.ClientSession]] = []

    async def start(*, auth: dict[str, Any] | None = None, rules: list[dict[str, Any]] | None = None,
                    default: list[dict[str, Any]] | None = None, albauth: dict[str, Any] | None = None,
                    listener: dict[str, Any] | None = None) -> Alb:
        port, admin_port = unused_port(), unused_port()
        forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}
        if default is None:
            default = [oidc_action(idp, **copy.deepcopy(auth or {})), forward]
        own: dict[str, Any] = {
            "admin_listen": f"127.0.0.1:{admin_port}",
            "target_groups": {"app": {"targets": [upstream.url]}},
            "session": {"secrets": [SECRET]},
            "signing": {"key_file": str(tmp_path / "signing.pem")},
        }
        own.update(albauth or {})
        lst = {"Protocol": "HTTPS", "Port": port,
               "albauth": {"address": "127.0.0.1", "certificate_file": tls_files[0], "key_file": tls_files[1]},
               "DefaultActions": default, "Rules": rules or []}
        lst.update(listener or {})
        doc = {"albauth": own, "listeners": [lst]}
        for attempt in range(3):
            settings = load_text(yaml.safe_dump(doc, sort_keys=False), "test.yaml", {})
            runtime = Runtime(settings, clock=clock)
            try:
                await runtime.start()
                break
            except OSError as exc:
                # unused_port() may hand out a port another process binds before we do.
                await runtime.stop()
                if exc.errno != errno.EADDRINUSE or attempt == 2:
                    raise
                port, admin_port = unused_port(), unused_port()
                lst["Port"], own["admin_listen"] = port, f"127.0.0.1:{admin_port}"
        session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        started.append((runtime, session))
        return Alb(runtime, port, f"http://127.0.0.1:{admin_port}",
                   Browser(session, f"https://127.0.0.1:{port}"), doc)

    yield start
    for runtime, session in started:
        await session.close()
        await runtime.stop()


@pytest.fixture
async def alb(start_alb: StartAlb) -> Alb:
    return await start_alb()


def header(record: Mapping[str, Any], name: str) -> str | None:
    """The first value of header `name` in an echo record (the upstream's or its JSON reply)."""
    for k, v in record["headers"]:
        if k.lower() == name.lower():
            return str(v)
    return None


def required_header(record: Mapping[str, Any], name: str) -> str:
    """`header`, for a header the target must have received."""
    value = header(record, name)
    assert value is not None, f"the target received no {name} header"
    return value


def headers_named(record: Mapping[str, Any], prefix: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in record["headers"] if k.lower().startswith(prefix)]


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1)


@dataclass
class TokenRecorder:
    """A token endpoint in front of the provider's that keeps every answer, so tests can
    compare what the target receives with what the provider issued, byte for byte."""

    url: str
    answers: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def token_recorder(aiohttp_server: AiohttpServer, idp: DevIdP) -> TokenRecorder:
    rec = TokenRecorder("")

    async def token(request: web.Request) -> web.Response:
        body = await request.read()
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{idp.settings.issuer}/token", data=body, headers={
                    k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}) as r:
                answer = await r.read()
                if r.status == 200:
                    rec.answers.append(json.loads(answer))
                return web.Response(status=r.status, body=answer, content_type="application/json")

    app = web.Application()
    app.router.add_post("/token", token)
    server = await aiohttp_server(app)
    rec.url = f"http://127.0.0.1:{server.port}/token"
    return rec
