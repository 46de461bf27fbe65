"""Spec 12, "Unauthenticated requests" (items 1, 9-20) and the `deny` pattern of spec 1.4."""

from __future__ import annotations

import asyncio
import re
import ssl
from urllib.parse import parse_qsl, urlsplit

import pytest

from albauth.clock import FakeClock
from albauth.devidp import DevIdP

from .conftest import CLIENT_ID, Alb, StartAlb, Upstream, header, oidc_action


def _query(location: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(location).query, keep_blank_values=True)


async def test_defaults_behave_as_alb_documents(alb: Alb, idp: DevIdP) -> None:
    """Item 1: no SessionCookieName/Scope/SessionTimeout/OnUnauthenticatedRequest given."""
    cfg = alb.runtime.settings.listeners[0].rules[-1].authenticate
    assert cfg is not None
    assert (cfg.session_cookie_name, cfg.scope, cfg.session_timeout, cfg.on_unauthenticated) == (
        "AWSELBAuthSessionCookie", "openid", 604800, "authenticate")
    reply = await alb.browser.get("https://app.test/x?a=1")
    assert reply.status == 302
    assert dict(_query(reply.location))["scope"] == "openid"


async def test_redirect_has_albs_parameters_in_albs_order(alb: Alb, idp: DevIdP) -> None:
    """Item 9: 302 to AuthorizationEndpoint with client_id, redirect_uri, response_type, scope, state in order."""
    reply = await alb.browser.get("https://app.test/x?a=1")
    assert reply.status == 302
    assert reply.location.startswith(f"{idp.settings.issuer}/authorize?")
    raw = urlsplit(reply.location).query
    names = [p.split("=")[0] for p in raw.split("&")]
    assert names == ["client_id", "redirect_uri", "response_type", "scope", "state"]
    assert raw.startswith(f"client_id={CLIENT_ID}&redirect_uri=https%3A%2F%2Fapp.test%2Foauth2%2Fidpresponse"
                          "&response_type=code&scope=openid&state=")
    state = dict(_query(reply.location))["state"]
    assert state and re.fullmatch(r"[A-Za-z0-9+/=]+", state)  # standard base64, like ALB's


async def test_redirect_has_no_nonce_and_no_pkce_by_default(alb: Alb) -> None:
    """Item 10."""
    reply = await alb.browser.get("https://app.test/")
    names = {k for k, _ in _query(reply.location)}
    assert not names & {"nonce", "code_challenge", "code_challenge_method"}


async def test_pkce_and_nonce_are_opt_in_hardening(start_alb: StartAlb, idp: DevIdP, upstream: Upstream) -> None:
    alb = await start_alb(auth={"albauth": {"pkce": True, "nonce": True}})
    reply = await alb.browser.get("https://app.test/")
    params = dict(_query(reply.location))
    assert params["code_challenge_method"] == "S256" and params["code_challenge"] and params["nonce"]
    page = await alb.browser.login("https://app.test/secure")
    assert page.status == 200
    assert header(upstream.last, "x-amzn-oidc-identity")


async def test_redirect_sets_albs_nonce_cookie(alb: Alb) -> None:
    """Item 11: AWSALBAuthNonce, 16 alphanumeric characters, Secure, Path=/."""
    reply = await alb.browser.get("https://app.test/")
    lines = [c for c in reply.set_cookies if c.startswith("AWSALBAuthNonce=")]
    assert len(lines) == 1
    value = lines[0].split(";")[0].split("=", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9]{16}", value)
    attrs = [a.strip() for a in lines[0].split(";")[1:]]
    assert "Secure" in attrs and "Path=/" in attrs


async def test_scope_spaces_are_encoded_as_percent_20(start_alb: StartAlb) -> None:
    """Item 12."""
    alb = await start_alb(auth={"Scope": "openid email profile"})
    reply = await alb.browser.get("https://app.test/")
    assert "&scope=openid%20email%20profile&" in reply.location


async def test_extra_params_come_after_state(start_alb: StartAlb) -> None:
    """Item 13."""
    alb = await start_alb(auth={"AuthenticationRequestExtraParams": {"prompt": "login", "display": "page"}})
    reply = await alb.browser.get("https://app.test/")
    names = [k for k, _ in _query(reply.location)]
    assert names[4:] == ["state", "prompt", "display"]
    assert dict(_query(reply.location))["display"] == "page"


async def test_redirect_uri_follows_the_host_header(alb: Alb) -> None:
    """Item 14."""
    reply = await alb.browser.get("https://other.test/")
    assert "redirect_uri=https%3A%2F%2Fother.test%2Foauth2%2Fidpresponse&" in reply.location


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
async def test_every_method_gets_the_302_and_nothing_is_forwarded(alb: Alb, upstream: Upstream, method: str) -> None:
    """Item 15."""
    reply = await alb.browser.request(method, "https://app.test/api", data=b"payload")
    assert reply.status == 302
    assert upstream.seen == []


async def test_deny_without_session_is_401_html_and_not_forwarded(start_alb: StartAlb, upstream: Upstream) -> None:
    """Item 16 (and 20: Server: awselb/2.0)."""
    alb = await start_alb(auth={"OnUnauthenticatedRequest": "deny"})
    reply = await alb.browser.get("https://app.test/api/x")
    assert reply.status == 401
    assert reply.headers["Content-Type"].startswith("text/html")
    assert reply.headers["Server"] == "awselb/2.0"
    assert b"<title>401 Authorization Required</title>" in reply.body
    assert upstream.seen == []


async def test_deny_with_expired_session_redirects_to_the_provider(start_alb: StartAlb, idp: DevIdP,
                                                                   clock: FakeClock) -> None:
    """Item 17: `deny` answers 401 only when there is no session at all."""
    login = oidc_action(idp, SessionTimeout=60)
    deny = oidc_action(idp, SessionTimeout=60, OnUnauthenticatedRequest="deny")
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}
    alb = await start_alb(default=[login, forward], rules=[
        {"Priority": 1, "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
         "Actions": [deny, forward]}])
    assert (await alb.browser.login("https://app.test/")).status == 200
    assert (await alb.browser.get("https://app.test/api/x")).status == 200
    clock.advance(61)
    reply = await alb.browser.get("https://app.test/api/x")
    assert reply.status == 302
    assert reply.location.startswith(f"{idp.settings.issuer}/authorize?")


async def test_deny_rule_beside_authenticate_rule_shares_the_session(start_alb: StartAlb, idp: DevIdP,
                                                                     upstream: Upstream) -> None:
    """Spec 1.4 / AWS's pattern: `deny` on /api/* accepts the session minted by `authenticate` on /*."""
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}
    alb = await start_alb(rules=[
        {"Priority": 1, "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
         "Actions": [oidc_action(idp, OnUnauthenticatedRequest="deny"), forward]}])
    assert (await alb.browser.get("https://app.test/api/x", cookies=False)).status == 401
    await alb.browser.login("https://app.test/")
    reply = await alb.browser.get("https://app.test/api/x")
    assert reply.status == 200
    assert header(upstream.last, "x-amzn-oidc-identity")


async def test_allow_without_session_forwards_without_claims(start_alb: StartAlb, upstream: Upstream) -> None:
    """Item 18 (and 54: the client's own x-amzn-oidc-* never reach the target)."""
    alb = await start_alb(auth={"OnUnauthenticatedRequest": "allow"})
    reply = await alb.browser.get("https://app.test/page", headers={
        "X-Amzn-Oidc-Data": "forged", "x-amzn-oidc-identity": "admin", "X-AMZN-OIDC-ACCESSTOKEN": "t"})
    assert reply.status == 200
    assert [k for k, _ in upstream.last["headers"] if k.lower().startswith("x-amzn-oidc")] == []


async def test_http10_request_without_host_is_401(alb: Alb) -> None:
    """Item 19: ALB cannot build a redirect URL without Host."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection("127.0.0.1", alb.port, ssl=ctx)
    writer.write(b"GET / HTTP/1.0\r\n\r\n")
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    status_line, _, rest = data.partition(b"\r\n")
    assert status_line.split()[1] == b"401"
    assert b"Server: awselb/2.0" in rest


async def test_albauth_generated_responses_carry_alb_server_header(start_alb: StartAlb) -> None:
    """Item 20."""
    alb = await start_alb()
    reply = await alb.browser.get("https://app.test/")
    assert reply.status == 302 and reply.headers["Server"] == "awselb/2.0"
