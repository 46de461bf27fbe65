"""Real parts for the forward-auth tests: the built-in provider (with callbacks registered on
the controller's host `app.test`), an echo upstream, and albauth on a plain-HTTP loopback
listener that trusts X-Forwarded-Proto, as it runs behind an ingress controller."""

from __future__ import annotations

import copy
import errno
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import unused_port

from albauth.app import Runtime
from albauth.clock import FakeClock
from albauth.config.load import load_text
from albauth.devidp import DevIdP, IdpClient, load_idp_settings
from tests.alb.browser import Browser
from tests.alb.conftest import CLIENT_ID, CLIENT_SECRET, SECRET, Upstream, clock, oidc_action, upstream

__all__ = ["ACCESS_TOKEN_TTL", "FaAlb", "StartFa", "clock", "upstream"]

ACCESS_TOKEN_TTL = 60  # short, so tests reach a refresh by moving the clock


@pytest.fixture
async def idp(aiohttp_server: Any, clock: FakeClock) -> DevIdP:
    port = unused_port()
    settings = load_idp_settings(None, f"http://127.0.0.1:{port}")
    client = IdpClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                       redirect_uris=("http://app.test/oauth2/idpresponse", "https://app.test/oauth2/idpresponse"))
    settings = replace(settings, clients=settings.clients + (client,), access_token_ttl=ACCESS_TOKEN_TTL)
    provider = DevIdP(settings, clock=clock)
    await aiohttp_server(provider.app, port=port)
    return provider


@dataclass
class FaAlb:
    runtime: Runtime
    port: int
    url: str  # http://127.0.0.1:<port>
    http: aiohttp.ClientSession  # no cookie jar: tests send the Cookie header themselves

    def browser(self, origin: str | None = None) -> Browser:
        """A browser for which app.test lives at `origin` (the controller; default albauth)."""
        return Browser(self.http, origin or self.url)


StartFa = Callable[..., Awaitable[FaAlb]]


@pytest.fixture
async def start_fa(idp: DevIdP, upstream: Upstream, clock: FakeClock) -> AsyncIterator[StartFa]:
    """albauth with forward-auth; `forward_auth` replaces the settings block, `rules` the
    listener's rules, `default` its default actions (authenticate + forward to the upstream)."""
    started: list[tuple[Runtime, aiohttp.ClientSession]] = []

    async def start(*, forward_auth: dict[str, Any] | None = None, rules: list[dict[str, Any]] | None = None,
                    default: list[dict[str, Any]] | None = None, session: dict[str, Any] | None = None) -> FaAlb:
        forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}
        own: dict[str, Any] = {
            "admin_listen": "off",
            "target_groups": {"app": {"targets": [upstream.url]}},
            "session": {"secrets": [SECRET], **(session or {})},
            "forward_auth": {"enabled": True} if forward_auth is None else forward_auth,
        }
        lst: dict[str, Any] = {
            "Protocol": "HTTP", "Port": 0,
            "albauth": {"address": "127.0.0.1", "trust_forwarded_proto": True},
            "DefaultActions": default or [oidc_action(idp), forward], "Rules": copy.deepcopy(rules or [])}
        doc = {"albauth": own, "listeners": [lst]}
        for attempt in range(3):
            lst["Port"] = unused_port()
            runtime = Runtime(load_text(yaml.safe_dump(doc, sort_keys=False), "test.yaml", {}), clock=clock)
            try:
                await runtime.start()
                break
            except OSError as exc:  # another process took the port first
                await runtime.stop()
                if exc.errno != errno.EADDRINUSE or attempt == 2:
                    raise
        http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        started.append((runtime, http))
        return FaAlb(runtime, lst["Port"], f"http://127.0.0.1:{lst['Port']}", http)

    yield start
    for runtime, http in started:
        await http.close()
        await runtime.stop()


def forward_rule(priority: int, path: str) -> dict[str, Any]:
    """A rule that forwards `path` to the upstream without authentication."""
    return {"Priority": priority, "Conditions": [{"Field": "path-pattern", "Values": [path]}],
            "Actions": [{"Type": "forward", "TargetGroupArn": "app"}]}
