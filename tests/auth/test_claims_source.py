"""`claims_source`: what `x-amzn-oidc-data` carries when the ID token and UserInfo differ
(Entra ID and Cognito put groups only in the ID token). ALB's choice, UserInfo, stays the
default; `id_token` and `merge` are opt-ins, and `merge` lets UserInfo win a conflict."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from albauth.app import Runtime
from albauth.config.load import load_text
from albauth.signing import decode_unverified

from .conftest import CLIENT_ID, CLIENT_SECRET, FakeProvider
from .test_rp_negatives import HOST, SESSION_COOKIE, Rp, start_login, token_endpoint

ID_TOKEN_ONLY: dict[str, Any] = {"groups": ["admins"], "role": "from-the-id-token"}
USERINFO = {"sub": "user-1", "email": "u@example.test", "role": "from-userinfo"}
StartRp = Callable[[str], Awaitable[tuple[Rp, list[dict[str, str]]]]]


@pytest.fixture
async def start_rp(provider: FakeProvider, aiohttp_server: Any) -> AsyncIterator[StartRp]:
    seen: list[dict[str, str]] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append({k.lower(): v for k, v in request.headers.items()})
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    target: TestServer = await aiohttp_server(app)
    runtimes: list[Runtime] = []
    http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())

    async def start(source: str) -> tuple[Rp, list[dict[str, str]]]:
        port, admin_port = unused_port(), unused_port()
        action = {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {
            "Issuer": provider.issuer, "ClientId": CLIENT_ID, "ClientSecret": CLIENT_SECRET,
            "AuthorizationEndpoint": provider.url("/authorize"), "TokenEndpoint": provider.url("/token"),
            "UserInfoEndpoint": provider.url("/userinfo")},
            "albauth": {"nonce": True, "jwks_uri": provider.url("/jwks"), "claims_source": source}}
        doc = {"albauth": {"admin_listen": f"127.0.0.1:{admin_port}",
                           "target_groups": {"app": {"targets": [str(target.make_url("")).rstrip("/")]}},
                           "session": {"secrets": ["claims-source-secret-0123456789-abcdefgh"]}},
               "listeners": [{"Protocol": "HTTP", "Port": port,
                              "albauth": {"address": "127.0.0.1", "local_development": True},
                              "DefaultActions": [action, {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}]}]}
        runtime = Runtime(load_text(yaml.safe_dump(doc), "claims.yaml", {}))
        await runtime.start()
        runtimes.append(runtime)
        return Rp(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}", http), seen

    yield start
    for runtime in runtimes:
        await runtime.stop()
    await http.close()


async def _claims_after_login(provider: FakeProvider, rp: Rp, seen: list[dict[str, str]]) -> dict[str, Any]:
    login = await start_login(rp)
    token_endpoint()(provider, login.oidc_nonce)
    provider.script("token").body["id_token"] = provider.id_token(nonce=login.oidc_nonce, **ID_TOKEN_ONLY)
    provider.script("userinfo").body = USERINFO
    status, cookies = await rp.callback(login.state, login.browser_nonce)
    assert status == 302
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items() if k.startswith(SESSION_COOKIE))
    async with rp.http.get(rp.base + "/", headers={"Host": HOST, "Cookie": cookie}) as resp:
        assert resp.status == 200
    return dict(decode_unverified(seen[-1]["x-amzn-oidc-data"]).claims)


@pytest.mark.parametrize(("source", "expected"), [
    ("userinfo", USERINFO),
    ("id_token", {"sub": "user-1", **ID_TOKEN_ONLY}),
    ("merge", {"sub": "user-1", "groups": ["admins"], "email": "u@example.test", "role": "from-userinfo"}),
])
async def test_claims_come_from_the_configured_source(
        provider: FakeProvider, start_rp: StartRp, source: str, expected: dict[str, Any]) -> None:
    rp, seen = await start_rp(source)
    claims = await _claims_after_login(provider, rp, seen)
    user = {k: v for k, v in claims.items() if k not in ("exp", "iss")}
    assert user == expected
