"""Static identity for an app's test suite: every request is a configured user, with
x-amzn-oidc-* headers signed as ALB signs them, and no identity provider is ever called.
Loopback listeners only."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
import yaml

from albauth.config.errors import ConfigError
from albauth.config.load import load_text
from albauth.devidp import DevIdP
from albauth.signing import peek_header, verify_alb_jwt

from .conftest import StartAlb, Upstream, header, oidc_action

ALICE = {"sub": "alice-0001", "email": "alice@example.test", "groups": ["admins"]}
BOB = {"sub": "bob-0002", "email": "bob@example.test"}
STATIC = {"albauth": {"static_identity": {"alice": ALICE, "bob": BOB}, "static_identity_header": "X-Test-User"}}


async def _verified_claims(admin: str, token: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{admin}/{peek_header(token)['kid']}") as resp:
        pem = await resp.read()
    return dict(verify_alb_jwt(token, pem).claims)


async def test_every_request_is_the_first_user_signed_as_alb_signs_it(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream) -> None:
    alb = await start_alb(auth=STATIC)
    reply = await alb.browser.get("https://app.test/orders")
    assert reply.status == 200
    record = upstream.last
    assert header(record, "x-amzn-oidc-identity") == ALICE["sub"]
    token = header(record, "x-amzn-oidc-data")
    assert token is not None
    claims = await _verified_claims(alb.admin, token)
    assert {k: claims[k] for k in ALICE} == ALICE
    assert claims["iss"] == idp.settings.issuer
    assert not idp.events  # no provider was called


async def test_a_request_may_pick_another_configured_user(start_alb: StartAlb, upstream: Upstream) -> None:
    alb = await start_alb(auth=STATIC)
    assert (await alb.browser.get("https://app.test/", headers={"X-Test-User": "bob"})).status == 200
    assert header(upstream.last, "x-amzn-oidc-identity") == BOB["sub"]
    seen = len(upstream.seen)
    unknown = await alb.browser.get("https://app.test/", headers={"X-Test-User": "mallory"})
    assert unknown.status == 401
    assert len(upstream.seen) == seen


def test_static_identity_is_refused_off_loopback(idp: DevIdP) -> None:
    action = oidc_action(idp, albauth={"static_identity": {"alice": ALICE}})
    doc = {"albauth": {"admin_listen": "off", "target_groups": {"app": {"targets": ["http://127.0.0.1:9"]}}},
           "listeners": [{"Protocol": "HTTP", "Port": 8080,
                          "albauth": {"address": "0.0.0.0", "trust_forwarded_proto": True},
                          "DefaultActions": [action, {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}]}]}
    with pytest.raises(ConfigError) as caught:
        load_text(yaml.safe_dump(doc), "static.yaml", {})
    assert any("loopback listeners only" in str(i) for i in caught.value.issues)


def test_a_static_user_needs_a_sub(idp: DevIdP) -> None:
    action = oidc_action(idp, albauth={"static_identity": {"alice": {"email": "a@example.test"}}})
    doc = {"albauth": {"admin_listen": "off", "target_groups": {"app": {"targets": ["http://127.0.0.1:9"]}}},
           "listeners": [{"Protocol": "HTTP", "Port": 8080,
                          "albauth": {"address": "127.0.0.1", "local_development": True},
                          "DefaultActions": [action, {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}]}]}
    with pytest.raises(ConfigError) as caught:
        load_text(yaml.safe_dump(doc), "static.yaml", {})
    assert any(i.key.endswith("static_identity.alice.sub") for i in caught.value.issues)
