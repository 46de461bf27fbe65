"""Spec 12, "Callback" (items 21-33, 67): /oauth2/idpresponse, checked in ALB's order."""

from __future__ import annotations

import asyncio
import base64
import logging
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port
from pytest_aiohttp import AiohttpServer

from albauth.clock import FakeClock
from albauth.devidp import DevIdP

from .conftest import BIG_USER, CLIENT_ID, Alb, StartAlb, TokenRecorder, Upstream, oidc_action


def _param(url: str, name: str) -> str:
    return dict(parse_qsl(urlsplit(url).query))[name]


async def _callback_url(alb: Alb, path: str = "https://app.test/x?a=1") -> str:
    """Start a login and sign in at the provider; the callback is not yet delivered."""
    first = await alb.browser.get(path)
    assert first.status == 302
    return await alb.browser.sign_in(first.location)


async def test_callback_redeems_the_code_once_with_the_same_redirect_uri(alb: Alb, idp: DevIdP) -> None:
    """Item 21."""
    callback = await _callback_url(alb)
    assert idp.count("token") == 0
    reply = await alb.browser.get(callback)
    assert reply.status == 302
    token_calls = [e for e in idp.events if e.endpoint == "token"]
    assert len(token_calls) == 1
    call = token_calls[0]
    assert call.grant_type == "authorization_code"
    assert call.params["code"] == _param(callback, "code")
    assert call.params["redirect_uri"] == "https://app.test/oauth2/idpresponse"
    # ALB's default client authentication: client_secret_post (spec 2.4).
    assert call.client_auth == "client_secret_post"


async def test_client_secret_basic_by_config(start_alb: StartAlb, idp: DevIdP) -> None:
    alb = await start_alb(auth={"albauth": {"client_auth": "basic"}})
    await alb.browser.login()
    assert [e.client_auth for e in idp.events if e.endpoint == "token"] == ["client_secret_basic"]


async def test_userinfo_is_called_with_the_access_token(alb: Alb, idp: DevIdP, token_recorder: TokenRecorder,
                                                        start_alb: StartAlb) -> None:
    """Item 22."""
    alb = await start_alb(auth={"TokenEndpoint": token_recorder.url})
    await alb.browser.login()
    userinfo = [e for e in idp.events if e.endpoint == "userinfo"]
    assert len(userinfo) == 1 and userinfo[0].status == 200
    assert len(token_recorder.answers) == 1


async def test_callback_returns_to_the_original_uri_with_secure_shards(alb: Alb) -> None:
    """Item 23."""
    callback = await _callback_url(alb, "https://app.test/x?a=1")
    reply = await alb.browser.get(callback)
    assert reply.status == 302
    assert reply.location == "https://app.test/x?a=1"
    shards = [c for c in reply.set_cookies if c.startswith("AWSELBAuthSessionCookie-")]
    assert shards and shards[0].startswith("AWSELBAuthSessionCookie-0=")
    assert all("; Secure" in c for c in shards)


async def test_callback_without_nonce_cookie_is_401_and_the_code_stays_unspent(alb: Alb, idp: DevIdP) -> None:
    """Item 24: the nonce is checked before the code is redeemed."""
    callback = await _callback_url(alb)
    nonce = alb.browser.cookies().pop("AWSALBAuthNonce")
    reply = await alb.browser.get(callback)
    assert reply.status == 401
    assert idp.count("token") == 0
    alb.browser.cookies()["AWSALBAuthNonce"] = nonce
    assert (await alb.browser.get(callback)).status == 302  # the code was still good


async def test_callback_with_another_nonce_is_401_without_token_call(alb: Alb, idp: DevIdP) -> None:
    """Item 25."""
    callback = await _callback_url(alb)
    alb.browser.cookies()["AWSALBAuthNonce"] = "AAAAAAAAAAAAAAAA"
    assert (await alb.browser.get(callback)).status == 401
    assert idp.count("token") == 0


async def test_callback_with_missing_or_tampered_state_is_401(alb: Alb, idp: DevIdP) -> None:
    """Item 26."""
    callback = await _callback_url(alb)
    code = _param(callback, "code")
    assert (await alb.browser.get(f"https://app.test/oauth2/idpresponse?code={code}")).status == 401
    state = bytearray(base64.b64decode(_param(callback, "state")))
    state[len(state) // 2] ^= 1
    tampered = quote(base64.b64encode(bytes(state)).decode(), safe="")
    reply = await alb.browser.get(f"https://app.test/oauth2/idpresponse?code={code}&state={tampered}")
    assert reply.status == 401
    assert (await alb.browser.get(f"https://app.test/oauth2/idpresponse?code={code}&state=%25%25")).status == 401
    assert idp.count("token") == 0


async def test_callback_after_15_minutes_is_401(alb: Alb, idp: DevIdP, clock: FakeClock) -> None:
    """Item 27."""
    callback = await _callback_url(alb)
    clock.advance(15 * 60 + 1)
    assert (await alb.browser.get(callback)).status == 401
    assert idp.count("token") == 0


async def test_callback_within_15_minutes_succeeds(start_alb: StartAlb, idp: DevIdP, clock: FakeClock) -> None:
    """Item 27's other side: 14 minutes is fine (the provider's code lives 60 s, so the
    code is fetched at the end)."""
    alb = await start_alb()
    first = await alb.browser.get("https://app.test/")
    clock.advance(14 * 60)
    callback = await alb.browser.sign_in(first.location)
    assert (await alb.browser.get(callback)).status == 302


async def test_provider_error_on_callback_is_561(alb: Alb) -> None:
    """Item 28: error=access_denied (the user pressed Cancel)."""
    first = await alb.browser.get("https://app.test/")
    state = quote(_param(first.location, "state"), safe="")
    reply = await alb.browser.get(f"https://app.test/oauth2/idpresponse?error=access_denied&state={state}")
    assert reply.status == 561
    assert reply.headers["Server"] == "awselb/2.0"


async def test_a_provider_error_cannot_forge_log_lines(alb: Alb, caplog: pytest.LogCaptureFixture) -> None:
    """A CR/LF in the provider's `error` would start a new, forged line in a text log."""
    first = await alb.browser.get("https://app.test/")
    state = quote(_param(first.location, "state"), safe="")
    forged = quote("access_denied\r\n2026-01-01 INFO albauth: admin logged in", safe="")
    with caplog.at_level(logging.INFO, logger="albauth"):
        reply = await alb.browser.get(f"https://app.test/oauth2/idpresponse?error={forged}&state={state}")
    assert reply.status == 561
    lines = [r.getMessage() for r in caplog.records if "provider returned error" in r.getMessage()]
    assert lines == ["provider returned error=access_denied\\x0d\\x0a2026-01-01 INFO albauth: admin logged in "
                     "to the callback"]
    assert not any("\n" in r.getMessage() or "\r" in r.getMessage() for r in caplog.records)


async def test_missing_code_is_401(alb: Alb) -> None:
    first = await alb.browser.get("https://app.test/")
    state = quote(_param(first.location, "state"), safe="")
    assert (await alb.browser.get(f"https://app.test/oauth2/idpresponse?state={state}")).status == 401


async def test_replayed_code_is_401_and_counts_a_failure(alb: Alb) -> None:
    """Item 29: the back button to /oauth2/idpresponse."""
    callback = await _callback_url(alb)
    assert (await alb.browser.get(callback)).status == 302
    before = alb.metrics.value("ELBAuthFailure")
    reply = await alb.browser.get(callback)
    assert reply.status == 401
    assert alb.metrics.value("ELBAuthFailure") == before + 1


async def test_token_endpoint_unreachable_is_500_and_counts_an_error(start_alb: StartAlb) -> None:
    """Item 30: connection refused."""
    alb = await start_alb(auth={"TokenEndpoint": f"http://127.0.0.1:{unused_port()}/token"})
    callback = await _callback_url(alb)
    reply = await alb.browser.get(callback)
    assert reply.status == 500
    assert alb.metrics.value("ELBAuthError") == 1


async def test_token_endpoint_timing_out_is_500(start_alb: StartAlb, aiohttp_server: AiohttpServer) -> None:
    """Item 30: a provider that does not answer in time gets ALB's 500, never an open door."""
    release = asyncio.Event()

    async def slow(_: web.Request) -> web.Response:
        await asyncio.wait_for(release.wait(), 10)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/token", slow)
    server = await aiohttp_server(app)
    alb = await start_alb(auth={"TokenEndpoint": f"http://127.0.0.1:{server.port}/token",
                                "albauth": {"idp_timeout": 0.3}})
    callback = await _callback_url(alb)
    reply = await alb.browser.get(callback)
    release.set()
    assert reply.status == 500
    assert alb.metrics.value("ELBAuthError") == 1


async def test_oversized_claims_are_500_and_set_no_session(start_alb: StartAlb, idp: DevIdP) -> None:
    """Item 31: UserInfo + access token over 11264 bytes."""
    alb = await start_alb()
    first = await alb.browser.get("https://app.test/")
    callback = await alb.browser.sign_in(first.location, username="huge")
    reply = await alb.browser.get(callback)
    assert reply.status == 500
    assert not [c for c in reply.set_cookies if c.startswith("AWSELBAuthSessionCookie")]
    assert alb.metrics.value("ELBAuthUserClaimsSizeExceeded") == 1


async def test_large_claims_under_the_limit_log_in(start_alb: StartAlb) -> None:
    alb = await start_alb()
    page = await alb.browser.login(username=BIG_USER)
    assert page.status == 200


async def test_id_token_from_another_issuer_is_401(start_alb: StartAlb, idp: DevIdP) -> None:
    """Item 32: Issuer differs from the ID token's iss."""
    issuer = idp.settings.issuer + "/other"
    alb = await start_alb(auth={"Issuer": issuer})
    callback = await _callback_url(alb)
    reply = await alb.browser.get(callback)
    assert reply.status == 401


async def test_id_token_for_another_audience_is_401(start_alb: StartAlb, idp: DevIdP,
                                                    aiohttp_server: AiohttpServer) -> None:
    """Item 32: a token endpoint whose ID token names another client in aud."""
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})

    async def token(request: web.Request) -> web.Response:
        now = int(idp.clock())
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, {
            "iss": idp.settings.issuer, "sub": "x", "aud": "someone-else", "exp": now + 300, "iat": now}, key)
        return web.json_response({"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                                  "id_token": id_token})

    async def jwks(_: web.Request) -> web.Response:
        return web.json_response({"keys": [key.as_dict(private=False)]})

    app = web.Application()
    app.router.add_post("/token", token)
    app.router.add_get("/jwks", jwks)
    server = await aiohttp_server(app)
    base = f"http://127.0.0.1:{server.port}"
    alb = await start_alb(auth={"TokenEndpoint": f"{base}/token", "albauth": {"jwks_uri": f"{base}/jwks"}})
    callback = await _callback_url(alb)
    reply = await alb.browser.get(callback)
    assert reply.status == 401
    assert [e for e in idp.events if e.endpoint == "userinfo"] == []


async def test_callback_is_handled_when_the_rule_only_matches_login(start_alb: StartAlb, idp: DevIdP,
                                                                    upstream: Upstream) -> None:
    """Item 33: AWS's example puts authenticate on path-pattern /login only."""
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}
    alb = await start_alb(
        default=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "MessageBody": "no"}}],
        rules=[{"Priority": 5, "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/login"]}}],
                "Actions": [oidc_action(idp), forward]}])
    page = await alb.browser.login("https://app.test/login")
    assert page.status == 200
    assert upstream.last["path"] == "/login"


async def test_successful_login_counts_success_and_latency(alb: Alb) -> None:
    """Item 67."""
    await alb.browser.login()
    assert alb.metrics.value("ELBAuthSuccess") == 1
    text = alb.metrics.render().decode()
    assert "albauth_elb_auth_latency_seconds_count 1.0" in text


async def test_callback_is_not_intercepted_without_an_authenticate_action(start_alb: StartAlb,
                                                                          upstream: Upstream) -> None:
    alb = await start_alb(default=[{"Type": "forward", "TargetGroupArn": "app"}])
    reply = await alb.browser.get("https://app.test/oauth2/idpresponse?code=x&state=y")
    assert reply.status == 200
    assert upstream.last["path"].startswith("/oauth2/idpresponse")


async def test_client_id_in_redirect(alb: Alb) -> None:
    first = await alb.browser.get("https://app.test/")
    assert _param(first.location, "client_id") == CLIENT_ID


async def test_return_to_a_protocol_relative_path_stays_on_the_same_host(alb: Alb) -> None:
    """A link to `https://app.test//evil.example/x` must not turn into a redirect to
    evil.example after login (an open redirect through the login flow)."""
    first = await alb.browser.get("https://app.test//evil.example/x")
    callback = await alb.browser.sign_in(first.location)
    done = await alb.browser.get(callback)
    assert done.status == 302
    assert done.location == "https://app.test//evil.example/x"
    assert urlsplit(done.location).hostname == "app.test"
