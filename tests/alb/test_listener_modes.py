"""Where albauth authenticates besides HTTPS listeners (issue: HTTP and HTTPS), and the
environment-only sidecar with OIDC discovery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from albauth.app import Runtime
from albauth.clock import FakeClock
from albauth.config.env import load_env
from albauth.config.errors import ConfigError
from albauth.devidp import DevIdP

from .browser import Browser
from .conftest import Upstream, header

DEV_CLIENT, DEV_SECRET = "albauth-dev", "albauth-dev-secret"


def _redirect_uri(location: str) -> str:
    return dict(parse_qsl(urlsplit(location).query))["redirect_uri"]


# `await env_alb(**ALBAUTH_* variables)` -> albauth started from the environment alone.
class StartEnvAlb(Protocol):
    async def __call__(self, **env: str) -> tuple[Runtime, Browser, int]: ...


@pytest.fixture
async def env_alb(idp: DevIdP, upstream: Upstream, clock: FakeClock) -> AsyncIterator[StartEnvAlb]:
    started: list[tuple[Runtime, aiohttp.ClientSession]] = []

    async def start(**env: str) -> tuple[Runtime, Browser, int]:
        port = unused_port()
        base = {"ALBAUTH_LISTEN": f"127.0.0.1:{port}", "ALBAUTH_UPSTREAM": upstream.url,
                "ALBAUTH_ADMIN_LISTEN": "off", "ALBAUTH_OIDC_ISSUER": idp.settings.issuer,
                "ALBAUTH_OIDC_CLIENT_ID": DEV_CLIENT, "ALBAUTH_OIDC_CLIENT_SECRET": DEV_SECRET,
                "ALBAUTH_SESSION_SECRET": "e" * 40}
        base.update(env)
        runtime = Runtime(load_env(base), clock=clock)
        await runtime.start()
        session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        started.append((runtime, session))
        return runtime, Browser(session, f"http://127.0.0.1:{port}"), port

    yield start
    for runtime, session in started:
        await session.close()
        await runtime.stop()


async def test_env_only_sidecar_logs_in_with_discovery_on_loopback_http(env_alb: StartEnvAlb, upstream: Upstream,
                                                                        idp: DevIdP) -> None:
    """Only the issuer is given: endpoints come from discovery; loopback HTTP is local development."""
    runtime, browser, port = await env_alb()
    first = await browser.get(f"http://127.0.0.1:{port}/hello?x=1")
    assert first.status == 302
    assert first.location.startswith(f"{idp.settings.issuer}/authorize?")
    assert _redirect_uri(first.location) == f"http://127.0.0.1:{port}/oauth2/idpresponse"
    nonce_line = next(c for c in first.set_cookies if c.startswith("AWSALBAuthNonce="))
    assert "Secure" not in nonce_line  # a browser would drop a Secure cookie over http
    callback = await browser.sign_in(first.location)
    done = await browser.get(callback)
    assert done.status == 302 and done.location == f"http://127.0.0.1:{port}/hello?x=1"
    assert all("Secure" not in c for c in done.set_cookies)
    page = await browser.get(f"http://127.0.0.1:{port}/hello?x=1")
    assert page.status == 200
    assert header(upstream.last, "x-amzn-oidc-identity")
    assert header(upstream.last, "x-forwarded-proto") == "http"


async def test_trust_forwarded_proto_takes_scheme_and_port_from_the_tls_proxy(env_alb: StartEnvAlb,
                                                                              upstream: Upstream) -> None:
    runtime, browser, port = await env_alb(ALBAUTH_LISTEN=f"0.0.0.0:{unused_port()}",
                                           ALBAUTH_TRUST_FORWARDED_PROTO="true")
    port = runtime.settings.listeners[0].port
    browser.albauth_origin = f"http://127.0.0.1:{port}"
    reply = await browser.get("https://app.test/", headers={"X-Forwarded-Proto": "https"})
    assert _redirect_uri(reply.location) == "https://app.test/oauth2/idpresponse"
    assert "Secure" in next(c for c in reply.set_cookies if c.startswith("AWSALBAuthNonce="))
    # Without the header, the proxy in front is assumed to speak HTTPS on 443.
    reply = await browser.get("https://app.test/")
    assert _redirect_uri(reply.location) == "https://app.test/oauth2/idpresponse"


def test_env_only_auth_on_a_public_http_listener_is_refused(idp: DevIdP, upstream: Upstream) -> None:
    with pytest.raises(ConfigError) as info:
        load_env({"ALBAUTH_LISTEN": "0.0.0.0:8080", "ALBAUTH_UPSTREAM": upstream.url,
                  "ALBAUTH_OIDC_ISSUER": idp.settings.issuer, "ALBAUTH_OIDC_CLIENT_ID": DEV_CLIENT,
                  "ALBAUTH_OIDC_CLIENT_SECRET": DEV_SECRET})
    assert "HTTPS" in str(info.value)


async def test_discovery_failure_is_alb_500_not_an_open_door(env_alb: StartEnvAlb, upstream: Upstream) -> None:
    runtime, browser, port = await env_alb(ALBAUTH_OIDC_ISSUER=f"http://127.0.0.1:{unused_port()}")
    reply = await browser.get(f"http://127.0.0.1:{port}/")
    assert reply.status == 500
    assert reply.headers["Server"] == "awselb/2.0"
    assert upstream.seen == []
