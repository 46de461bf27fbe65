"""Spec 12, "Headers and JWT" (items 45-56) and WebSockets (item 66).

`x-amzn-oidc-data` is verified the way ALB users do it: fetch the PEM for the token's kid
from the key endpoint and check ES256 over the padded text; and with PyJWT 2.13, which
AWS's own sample relies on."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import aiohttp
import jwt as pyjwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from albauth.clock import FakeClock
from albauth.devidp import DevIdP

from .conftest import Alb, StartAlb, TokenRecorder, Upstream, header, required_header


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


async def _pem(alb: Alb, kid: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as s, s.get(f"{alb.admin}/{kid}") as r:
        return r.status, await r.read()


def _verify(pem: bytes, signing_input: str, signature: bytes) -> None:
    key = load_pem_public_key(pem)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    key.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))


# albauth after a login, and what the target received on that login's last request.
LoggedIn = tuple[Alb, dict[str, Any]]


@pytest.fixture
async def logged_in(token_recorder: TokenRecorder, start_alb: StartAlb, upstream: Upstream) -> LoggedIn:
    alb = await start_alb(auth={"TokenEndpoint": token_recorder.url, "Scope": "openid email profile"})
    await alb.browser.login()
    return alb, upstream.last


async def test_identity_is_the_userinfo_sub(logged_in: LoggedIn, idp: DevIdP) -> None:
    """Item 45."""
    alb, record = logged_in
    token = header(record, "x-amzn-oidc-accesstoken")
    async with aiohttp.ClientSession() as s, s.get(f"{idp.settings.issuer}/userinfo",
                                                   headers={"Authorization": f"Bearer {token}"}) as r:
        userinfo = await r.json()
    assert header(record, "x-amzn-oidc-identity") == userinfo["sub"]


async def test_access_token_is_the_token_endpoints_byte_for_byte(logged_in: LoggedIn,
                                                                 token_recorder: TokenRecorder) -> None:
    """Item 46."""
    _, record = logged_in
    assert header(record, "x-amzn-oidc-accesstoken") == token_recorder.answers[0]["access_token"]


async def test_data_token_segments_are_padded_base64url(logged_in: LoggedIn) -> None:
    """Item 47."""
    _, record = logged_in
    token = required_header(record, "x-amzn-oidc-data")
    segments = token.split(".")
    assert len(segments) == 3
    for seg in segments:
        assert len(seg) % 4 == 0
        assert re.fullmatch(r"[A-Za-z0-9_=-]+", seg)


async def test_data_token_header_has_albs_keys_in_albs_order(logged_in: LoggedIn, idp: DevIdP) -> None:
    """Item 48."""
    _, record = logged_in
    head_json = _b64(required_header(record, "x-amzn-oidc-data").split(".")[0]).decode()
    head = json.loads(head_json)
    assert list(head) == ["typ", "kid", "alg", "iss", "client", "signer", "exp"]
    assert head["typ"] == "JWT" and head["alg"] == "ES256"
    uuid.UUID(head["kid"])
    assert re.fullmatch(r"arn:aws:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/app/[^/]+/[0-9a-f]{16}",
                        head["signer"])
    assert isinstance(head["exp"], int)
    assert head["iss"] == idp.settings.issuer and head["client"] == "app"
    assert " " not in head_json  # compact JSON, as ALB's


async def test_data_token_payload_is_userinfo_then_exp_and_iss(logged_in: LoggedIn, idp: DevIdP) -> None:
    """Item 49."""
    _, record = logged_in
    token = required_header(record, "x-amzn-oidc-data")
    head = json.loads(_b64(token.split(".")[0]))
    payload = json.loads(_b64(token.split(".")[1]))
    access = header(record, "x-amzn-oidc-accesstoken")
    async with aiohttp.ClientSession() as s, s.get(f"{idp.settings.issuer}/userinfo",
                                                   headers={"Authorization": f"Bearer {access}"}) as r:
        userinfo = json.loads(await r.read())
    assert list(payload) == list(userinfo) + ["exp", "iss"]
    assert {k: payload[k] for k in userinfo} == userinfo
    assert payload["exp"] == head["exp"] and payload["iss"] == idp.settings.issuer
    assert "iat" not in payload


async def test_signature_is_raw_64_bytes_and_verifies_over_the_padded_text_only(logged_in: LoggedIn) -> None:
    """Item 50, and 52: the PEM comes from the key endpoint by kid."""
    alb, record = logged_in
    token = required_header(record, "x-amzn-oidc-data")
    h, p, sig = token.split(".")
    assert len(sig) == 88 and sig.endswith("==")
    signature = _b64(sig)
    assert len(signature) == 64
    status, pem = await _pem(alb, json.loads(_b64(h))["kid"])
    assert status == 200 and pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    _verify(pem, f"{h}.{p}", signature)
    with pytest.raises(InvalidSignature):
        _verify(pem, f"{h.rstrip('=')}.{p.rstrip('=')}", signature)


async def test_exp_is_issue_time_plus_120(logged_in: LoggedIn, clock: FakeClock) -> None:
    """Item 51: exp = now + 120 when the header is signed."""
    _, record = logged_in
    exp = json.loads(_b64(required_header(record, "x-amzn-oidc-data").split(".")[0]))["exp"]
    assert exp == int(clock()) + 120


async def test_exp_moves_between_requests_past_the_reuse_window(logged_in: LoggedIn, upstream: Upstream,
                                                                clock: FakeClock) -> None:
    """Item 51, relaxed on purpose: a signed header is reused for a session for up to 30 s,
    so exp stays between now+90 and now+120 (signing every request costs an ES256 each)."""
    alb, record = logged_in
    first = json.loads(_b64(required_header(record, "x-amzn-oidc-data").split(".")[0]))["exp"]
    clock.advance(29)
    await alb.browser.get("https://app.test/")
    reused = json.loads(_b64(required_header(upstream.last, "x-amzn-oidc-data").split(".")[0]))["exp"]
    assert reused == first and reused - clock() >= 90
    clock.advance(2)
    await alb.browser.get("https://app.test/")
    fresh = json.loads(_b64(required_header(upstream.last, "x-amzn-oidc-data").split(".")[0]))["exp"]
    assert fresh == int(clock()) + 120


async def test_signing_every_request_when_reuse_is_off(start_alb: StartAlb, upstream: Upstream,
                                                       clock: FakeClock) -> None:
    """Item 51 as the spec infers it: `reuse_seconds: 0` re-signs each request."""
    alb = await start_alb(albauth={"signing": {"reuse_seconds": 0}})
    await alb.browser.login()
    first = required_header(upstream.last, "x-amzn-oidc-data")
    clock.advance(1)
    await alb.browser.get("https://app.test/")
    second = required_header(upstream.last, "x-amzn-oidc-data")
    e1, e2 = (json.loads(_b64(t.split(".")[0]))["exp"] for t in (first, second))
    assert e2 == e1 + 1


async def test_key_endpoint_serves_pem_by_kid_and_404_otherwise(logged_in: LoggedIn) -> None:
    """Item 52."""
    alb, record = logged_in
    kid = json.loads(_b64(required_header(record, "x-amzn-oidc-data").split(".")[0]))["kid"]
    status, pem = await _pem(alb, kid)
    assert status == 200
    key = load_pem_public_key(pem)
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    assert (await _pem(alb, str(uuid.uuid4())))[0] == 404


async def test_pyjwt_213_decodes_the_token_with_the_pem(logged_in: LoggedIn, clock: FakeClock) -> None:
    """Item 53 (PyJWT half; aws-jwt-verify has its own test)."""
    alb, record = logged_in
    token = required_header(record, "x-amzn-oidc-data")
    kid = pyjwt.get_unverified_header(token)["kid"]
    _, pem = await _pem(alb, kid)
    claims = pyjwt.decode(token, pem, algorithms=["ES256"], options={"verify_exp": False})
    assert claims["iss"] and claims["sub"] == header(record, "x-amzn-oidc-identity")


async def test_standard_encoding_emits_unpadded_jws(start_alb: StartAlb, upstream: Upstream) -> None:
    alb = await start_alb(albauth={"signing": {"encoding": "standard"}})
    await alb.browser.login()
    token = required_header(upstream.last, "x-amzn-oidc-data")
    assert "=" not in token
    _, pem = await _pem(alb, pyjwt.get_unverified_header(token)["kid"])
    pyjwt.decode(token, pem, algorithms=["ES256"], options={"verify_exp": False})


async def test_signing_key_file_keeps_the_kid_across_restarts(start_alb: StartAlb, upstream: Upstream) -> None:
    a = await start_alb()
    await a.browser.login()
    kid_a = pyjwt.get_unverified_header(required_header(upstream.last, "x-amzn-oidc-data"))["kid"]
    b = await start_alb()  # same tmp_path key file
    await b.browser.login()
    assert pyjwt.get_unverified_header(required_header(upstream.last, "x-amzn-oidc-data"))["kid"] == kid_a


async def test_client_sent_oidc_headers_are_replaced(alb: Alb, upstream: Upstream) -> None:
    """Item 54: on an authenticate rule with a session."""
    await alb.browser.login()
    await alb.browser.get("https://app.test/", headers={
        "X-Amzn-Oidc-Data": "forged", "x-amzn-oidc-identity": "admin", "X-AMZN-OIDC-ACCESSTOKEN": "t",
        "x-amzn-oidc-other": "x"})
    found = [(k.lower(), v) for k, v in upstream.last["headers"] if k.lower().startswith("x-amzn-oidc")]
    assert sorted(k for k, _ in found) == ["x-amzn-oidc-accesstoken", "x-amzn-oidc-data", "x-amzn-oidc-identity"]
    assert all(v not in ("forged", "admin", "t") for _, v in found)


async def test_client_sent_oidc_headers_are_stripped_on_rules_without_auth(start_alb: StartAlb,
                                                                           upstream: Upstream) -> None:
    alb = await start_alb(default=[{"Type": "forward", "TargetGroupArn": "app"}])
    await alb.browser.get("https://app.test/", headers={"X-Amzn-Oidc-Data": "forged"})
    assert header(upstream.last, "x-amzn-oidc-data") is None


async def test_forwarding_headers(alb: Alb, upstream: Upstream) -> None:
    """Item 55."""
    await alb.browser.login()
    await alb.browser.get("https://app.test/", headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"})
    record = upstream.last
    assert header(record, "x-forwarded-for") == "203.0.113.7, 10.0.0.1, 127.0.0.1"
    assert header(record, "x-forwarded-proto") == "https"
    assert header(record, "x-forwarded-port") == str(alb.port)
    # ALB's preserve_host_header is off by default: a listener on a port other than 80/443 adds its port.
    assert header(record, "host") == f"app.test:{alb.port}"


async def test_trace_id_added_or_extended(alb: Alb, upstream: Upstream) -> None:
    """Item 56."""
    await alb.browser.login()
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", required_header(upstream.last, "x-amzn-trace-id"))
    await alb.browser.get("https://app.test/", headers={
        "X-Amzn-Trace-Id": "Root=1-67891233-abcdef012345678912345678;CalledFrom=app"})
    fields = required_header(upstream.last, "x-amzn-trace-id").split(";")
    assert fields[0] == "Root=1-67891233-abcdef012345678912345678"
    assert re.fullmatch(r"Self=1-[0-9a-f]{8}-[0-9a-f]{24}", fields[1])
    assert "CalledFrom=app" in fields


async def test_websocket_with_session_carries_identity_headers(alb: Alb, upstream: Upstream) -> None:
    """Item 66: the upgrade passes the authenticate action, then frames are relayed."""
    await alb.browser.login()
    cookie = "; ".join(f"{k}={v}" for k, v in alb.browser.cookies().items())
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(f"wss://127.0.0.1:{alb.port}/ws", ssl=False,
                                headers={"Host": "app.test", "Cookie": cookie}) as ws:
            await ws.send_str("hello")
            assert (await ws.receive_str(timeout=5)) == "hello"
    assert header(upstream.last, "x-amzn-oidc-identity")
    assert header(upstream.last, "x-amzn-oidc-data")


@pytest.mark.parametrize("mode, status", [("authenticate", 302), ("deny", 401)])
async def test_websocket_without_session_is_refused(start_alb: StartAlb, upstream: Upstream, mode: str,
                                                    status: int) -> None:
    """Item 66: 302 or 401 and no upgrade."""
    alb = await start_alb(auth={"OnUnauthenticatedRequest": mode})
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode()}
    reply = await alb.browser.get("https://app.test/ws", headers=upgrade)
    assert reply.status == status
    assert "Sec-WebSocket-Accept" not in reply.headers
    assert upstream.seen == []
