"""Relying-party negatives, after the OpenID Foundation's Basic RP certification list.

Each case makes the scriptable provider (tests/auth/conftest.py, real HTTP over loopback)
answer one hostile or broken way, then walks a real login through a real albauth: the
start of the login (for `state`, the `AWSALBAuthNonce` cookie and the OIDC `nonce`), then
albauth's `/oauth2/idpresponse`. Each asserts ALB's status (spec 6.2, README's table),
the log line of the check that fired, the metric on the admin listener's /metrics, and
that no session cookie was set.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import unused_port

from albauth.app import Runtime
from albauth.config.load import load_text

from .conftest import CLIENT_ID, CLIENT_SECRET, FakeProvider
from .helpers import b64url, unsigned_jwt

SESSION_COOKIE = "AWSELBAuthSessionCookie"
NONCE_COOKIE = "AWSALBAuthNonce"
HOST = "app.test"
IDP_TIMEOUT = 0.5  # the provider's "slow" answers take longer than this


@dataclass
class Rp:
    """albauth as the relying party, reached over loopback."""

    base: str
    admin: str
    http: aiohttp.ClientSession

    async def start_login(self, cookie: str = "") -> tuple[int, str, dict[str, str]]:
        """GET / on the authenticate rule: (status, Location, cookies set)."""
        headers = {"Host": HOST, **({"Cookie": cookie} if cookie else {})}
        async with self.http.get(self.base + "/", headers=headers, allow_redirects=False) as resp:
            return resp.status, resp.headers.get("Location", ""), _set_cookies(resp)

    async def callback(self, state: str, browser_nonce: str) -> tuple[int, dict[str, str]]:
        url = f"{self.base}/oauth2/idpresponse?" + urlencode({"code": "code-1", "state": state})
        headers = {"Host": HOST, "Cookie": f"{NONCE_COOKIE}={browser_nonce}"}
        async with self.http.get(url, headers=headers, allow_redirects=False) as resp:
            await resp.read()
            return resp.status, _set_cookies(resp)

    async def metric(self, name: str, **labels: str) -> float:
        """A sample of albauth's Prometheus /metrics. A labelled sample appears with its
        first increment (0 before); an unlabelled counter must exist."""
        async with self.http.get(self.admin + "/metrics") as resp:
            text = await resp.text()
        label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        sample = f"{name}{{{label_text}}}" if labels else name
        found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
        if found is None:
            assert labels, f"no metric {name}"
            return 0.0
        return float(found.group(1))


def _set_cookies(resp: aiohttp.ClientResponse) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in resp.headers.getall("Set-Cookie", []):
        name, _, rest = line.partition("=")
        out[name] = rest.split(";", 1)[0]
    return out


def _rp_settings(provider: FakeProvider, port: int, admin_port: int, target: str) -> str:
    action = {
        "Type": "authenticate-oidc", "Order": 1,
        "AuthenticateOidcConfig": {
            "Issuer": provider.issuer, "ClientId": CLIENT_ID, "ClientSecret": CLIENT_SECRET,
            "AuthorizationEndpoint": provider.url("/authorize"),
            "TokenEndpoint": provider.url("/token"),
            "UserInfoEndpoint": provider.url("/userinfo"),
        },
        "albauth": {"nonce": True, "jwks_uri": provider.url("/jwks"), "idp_timeout": IDP_TIMEOUT},
    }
    doc = {
        "albauth": {"admin_listen": f"127.0.0.1:{admin_port}",
                    "target_groups": {"app": {"targets": [target]}},
                    "session": {"secrets": ["rp-negatives-secret-0123456789-abcdefghijkl"]}},
        "listeners": [{"Protocol": "HTTP", "Port": port, "albauth": {"address": "127.0.0.1", "local_development": True},
                       "DefaultActions": [action, {"Type": "forward", "Order": 2,
                                                   "TargetGroupArn": "app"}]}],
    }
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.fixture
async def rp(provider: FakeProvider, closed_port: int) -> AsyncIterator[Rp]:
    port, admin_port = unused_port(), unused_port()
    text = _rp_settings(provider, port, admin_port, f"http://127.0.0.1:{closed_port}")
    runtime = Runtime(load_text(text, "rp.yaml", {}))
    await runtime.start()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        yield Rp(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}", http)
    await runtime.stop()


@dataclass(frozen=True)
class Login:
    state: str
    browser_nonce: str
    oidc_nonce: str


async def start_login(rp: Rp) -> Login:
    status, location, cookies = await rp.start_login()
    assert status == 302 and location.startswith(f"http://127.0.0.1:{urlsplit(location).port}/authorize")
    query = parse_qs(urlsplit(location).query)
    return Login(query["state"][0], cookies[NONCE_COOKIE], query["nonce"][0])


# -- the cases -----------------------------------------------------------------------

Hostile = Callable[[FakeProvider, str], None]  # (provider, the login's OIDC nonce)


def _token_with(id_token: str) -> dict[str, Any]:
    return {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": "rt-1", "id_token": id_token}


def id_token_claims(**claims: Any) -> Hostile:
    def hostile(op: FakeProvider, nonce: str) -> None:
        op.script("token").body = _token_with(op.id_token(**{"nonce": nonce, **claims}))
    return hostile


def invalid_signature(op: FakeProvider, nonce: str) -> None:
    impostor = op.new_key(op.keys[0].kid or "key-1")  # same kid, another key
    op.script("token").body = _token_with(op.id_token(key=impostor, nonce=nonce))


def alg_none(op: FakeProvider, nonce: str) -> None:
    token = unsigned_jwt({"alg": "none", "typ": "JWT"}, op.claims(nonce=nonce))
    op.script("token").body = _token_with(token)


def hs256_keyed_with_public_key(op: FakeProvider, nonce: str) -> None:
    # Key confusion: the JWKS public key, as PEM, used as the HMAC secret.
    key = op.keys[0]
    signing_input = unsigned_jwt({"alg": "HS256", "kid": key.kid}, op.claims(nonce=nonce))[:-1]
    mac = hmac.new(key.as_pem(private=False), signing_input.encode(), hashlib.sha256)
    op.script("token").body = _token_with(f"{signing_input}.{b64url(mac.digest())}")


def issued_in_the_future(op: FakeProvider, nonce: str) -> None:
    later = int(time.time()) + 3600  # an hour ahead: far past the 60 s leeway
    op.script("token").body = _token_with(op.id_token(iat=later, exp=later + 300, nonce=nonce))


def kid_not_in_jwks(op: FakeProvider, nonce: str) -> None:
    op.script("token").body = _token_with(op.id_token(key=op.new_key("ghost"), nonce=nonce))


def userinfo(body: Any) -> Hostile:
    def hostile(op: FakeProvider, nonce: str) -> None:
        op.script("token").body = _token_with(op.id_token(nonce=nonce))
        op.script("userinfo").body = body
    return hostile


def token_endpoint(status: int = 200, body: Any = None, delay: float = 0.0,
                   reset: bool = False) -> Hostile:
    def hostile(op: FakeProvider, nonce: str) -> None:
        script = op.script("token")
        script.status, script.delay, script.reset = status, delay, reset
        script.body = body if body is not None else _token_with(op.id_token(nonce=nonce))
    return hostile


@dataclass(frozen=True)
class Case:
    hostile: Hostile
    status: int
    error_reason: str
    metric: str  # ALB's CloudWatch counter
    log: str  # what albauth logs about the check that fired


def _refused_id_token(hostile: Hostile, log: str) -> Case:
    return Case(hostile, 401, "AuthInvalidIdToken", "ELBAuthFailure", log)


CASES: dict[str, Case] = {
    "invalid-signature": _refused_id_token(invalid_signature, "signature does not verify"),
    "alg-none": _refused_id_token(alg_none, "algorithm 'none' is not allowed"),
    "hs256-keyed-with-public-key": _refused_id_token(hs256_keyed_with_public_key,
                                                     "algorithm 'HS256' is not allowed"),
    "wrong-iss": _refused_id_token(id_token_claims(iss="https://evil.example"),
                                   "iss does not match"),
    "aud-without-client": _refused_id_token(id_token_claims(aud="someone-else"),
                                            "aud does not contain the client_id"),
    "several-aud-without-azp": _refused_id_token(id_token_claims(aud=[CLIENT_ID, "another"]),
                                                 "several audiences and azp"),
    "expired": _refused_id_token(id_token_claims(exp=1_000_000, iat=999_000), "has expired"),
    "iat-in-the-future": _refused_id_token(issued_in_the_future, "issued in the future"),
    "missing-nonce": _refused_id_token(id_token_claims(nonce=None), "nonce does not match"),
    "wrong-nonce": _refused_id_token(id_token_claims(nonce="replayed"), "nonce does not match"),
    "missing-sub": _refused_id_token(id_token_claims(sub=None), "has no sub"),
    "kid-not-in-jwks": _refused_id_token(kid_not_in_jwks, "no key with kid 'ghost'"),
    "userinfo-sub-mismatch": Case(userinfo({"sub": "someone-else", "email": "x@example.com"}),
                                  401, "AuthInvalidUserinfoResponse", "ELBAuthFailure",
                                  "userinfo sub does not match"),
    "userinfo-not-json": Case(userinfo(b"<html>sign in</html>"), 401,
                              "AuthInvalidUserinfoResponse", "ELBAuthFailure", "not JSON"),
    "token-endpoint-500": Case(token_endpoint(status=500, body={"error": "server_error"}), 561,
                               "AuthTokenEpRequestFailed", "ELBAuthError", "answered 500"),
    "token-endpoint-malformed-json": Case(token_endpoint(body=b'{"access_token": "at-1",'), 401,
                                          "AuthInvalidTokenResponse", "ELBAuthFailure",
                                          "token response is not JSON"),
    "token-endpoint-without-id-token": Case(
        token_endpoint(body={"access_token": "at-1", "token_type": "Bearer"}), 401,
        "AuthInvalidTokenResponse", "ELBAuthFailure", "no id_token"),
    "token-endpoint-connection-reset": Case(token_endpoint(reset=True), 500,
                                            "AuthTokenEpRequestTimeout", "ELBAuthError",
                                            "unreachable"),
    "token-endpoint-slower-than-timeout": Case(token_endpoint(delay=IDP_TIMEOUT * 6), 500,
                                               "AuthTokenEpRequestTimeout", "ELBAuthError",
                                               "unreachable: TimeoutError"),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_callback_refuses(case: Case, provider: FakeProvider, rp: Rp,
                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="albauth")
    login = await start_login(rp)
    case.hostile(provider, login.oidc_nonce)
    before = await rp.metric("albauth_auth_error_reason_total", error_reason=case.error_reason)
    counter = {"ELBAuthFailure": "albauth_elb_auth_failure_total",
               "ELBAuthError": "albauth_elb_auth_error_total"}[case.metric]
    before_counter = await rp.metric(counter)

    status, cookies = await rp.callback(login.state, login.browser_nonce)

    assert status == case.status
    assert not [name for name in cookies if name.startswith(SESSION_COOKIE)]
    assert case.log in caplog.text
    assert f"error_reason={case.error_reason}" in caplog.text
    assert await rp.metric("albauth_auth_error_reason_total",
                           error_reason=case.error_reason) == before + 1
    assert await rp.metric(counter) == before_counter + 1
    assert await rp.metric("albauth_elb_auth_success_total") == 0


async def test_valid_login_sets_a_session(provider: FakeProvider, rp: Rp) -> None:
    """The control for the table above: the same walk with an honest provider."""
    login = await start_login(rp)
    token_endpoint()(provider, login.oidc_nonce)
    status, cookies = await rp.callback(login.state, login.browser_nonce)
    assert status == 302
    assert [name for name in cookies if name.startswith(SESSION_COOKIE)]
    assert await rp.metric("albauth_elb_auth_success_total") == 1


async def test_rotated_kid_in_the_refetched_jwks_is_accepted(provider: FakeProvider, rp: Rp) -> None:
    first = await start_login(rp)
    token_endpoint()(provider, first.oidc_nonce)
    assert (await rp.callback(first.state, first.browser_nonce))[0] == 302
    assert provider.count("jwks") == 1

    provider.rotate_key("key-2")  # the provider rolls its key; albauth holds key-1 only
    second = await start_login(rp)
    token_endpoint()(provider, second.oidc_nonce)
    status, cookies = await rp.callback(second.state, second.browser_nonce)
    assert status == 302
    assert [name for name in cookies if name.startswith(SESSION_COOKIE)]
    assert provider.count("jwks") == 2


async def test_refresh_with_userinfo_for_another_sub_goes_back_to_login(
        provider: FakeProvider, rp: Rp, caplog: pytest.LogCaptureFixture) -> None:
    """OIDC Core 5.3.2 on a refresh: the session's user, not whoever UserInfo names."""
    caplog.set_level(logging.INFO, logger="albauth")
    login = await start_login(rp)
    provider.script("token").body = {**_token_with(provider.id_token(nonce=login.oidc_nonce)),
                                     "expires_in": 0}  # the next request refreshes
    status, cookies = await rp.callback(login.state, login.browser_nonce)
    assert status == 302
    session = "; ".join(f"{k}={v}" for k, v in cookies.items() if k.startswith(SESSION_COOKIE))

    provider.script("userinfo").body = {"sub": "someone-else", "email": "x@example.com"}
    status, location, set_cookies = await rp.start_login(cookie=session)

    assert status == 302 and urlsplit(location).path == "/authorize"  # back to the provider
    assert not [name for name in set_cookies if name.startswith(SESSION_COOKIE)]
    assert provider.count("token") == 2  # the refresh did happen
    assert "userinfo sub does not match" in caplog.text
    assert await rp.metric("albauth_elb_auth_refresh_token_success_total") == 0
