"""`albauth verify-token`: the real ALB token from AWS, and tokens a real albauth signed,
verified against real key endpoints over loopback."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from albauth.devidp import DevIdP
from albauth.signing.albjwt import b64url_padded
from albauth.signing.keyserver import add_key_routes
from tests.alb.conftest import CLIENT_ID, START, Alb, Upstream, header

from .helpers import albauth_cli, real_alb_token, write

REAL = real_alb_token()
REAL_SIGNER = json.loads(REAL["decoded_header_json"])["signer"]
REAL_ISSUER = json.loads(REAL["decoded_header_json"])["iss"]
BEFORE_EXP = "1687748000"  # the real token's exp is 1687748045


@dataclass
class KeyEndpoint:
    """ALB's `public-keys.auth.elb.<region>.amazonaws.com` for the real token's kid."""

    url: str = ""
    paths: list[str] = field(default_factory=list)

    def jwks(self) -> dict[str, Any]:
        return {"keys": []}

    def public_pem(self, kid: str) -> bytes | None:
        return REAL["public_key_pem"].encode() if kid == REAL["kid"] else None


@pytest.fixture
async def key_endpoint(aiohttp_server: Callable[..., Any]) -> AsyncIterator[KeyEndpoint]:
    endpoint = KeyEndpoint()

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        endpoint.paths.append(request.raw_path)
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[record])
    add_key_routes(app, endpoint)
    server: TestServer = await aiohttp_server(app)
    endpoint.url = f"http://127.0.0.1:{server.port}"
    yield endpoint


async def test_the_real_alb_token_verifies_with_its_pem_and_prints_header_and_claims(tmp_path: Path) -> None:
    key = write(tmp_path / "alb.pem", REAL["public_key_pem"])
    result = await albauth_cli("verify-token", "--key", key, "--at", BEFORE_EXP, "--signer", REAL_SIGNER,
                               "--issuer", REAL_ISSUER, "--client", "4fmvht22tjrgd7d3k3tghttct7", REAL["token"])
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == {"header": json.loads(REAL["decoded_header_json"]),
                       "claims": json.loads(REAL["decoded_payload_json"])}
    assert list(printed["header"]) == ["typ", "kid", "alg", "iss", "client", "signer", "exp"]


async def test_the_real_token_has_expired_unless_a_leeway_covers_it(tmp_path: Path) -> None:
    key = write(tmp_path / "alb.pem", REAL["public_key_pem"])
    expired = await albauth_cli("verify-token", "--key", key, REAL["token"])
    assert expired.returncode == 1 and expired.stdout == ""
    assert expired.stderr.count("\n") == 1 and "expired" in expired.stderr
    ten_years = str(10 * 365 * 86400)
    assert (await albauth_cli("verify-token", "--key", key, "--leeway", ten_years, REAL["token"])).returncode == 0


async def test_the_real_token_from_stdin_via_a_key_url_with_its_header_name(key_endpoint: KeyEndpoint) -> None:
    pasted = f"x-amzn-oidc-data: {REAL['token']}\n"
    result = await albauth_cli("verify-token", "-", "--keys-url", key_endpoint.url, "--at", BEFORE_EXP,
                               "--signer", REAL_SIGNER, stdin=pasted)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["claims"]["username"] == "duke"
    assert key_endpoint.paths == [f"/{REAL['kid']}"]


async def test_a_pinned_signer_issuer_or_client_that_differs_fails(key_endpoint: KeyEndpoint) -> None:
    base = ("verify-token", "--keys-url", key_endpoint.url, "--at", BEFORE_EXP)
    for pin, value in (("--signer", REAL_SIGNER.replace("6284be65b827c598", "0000000000000000")),
                       ("--issuer", "https://idp.example.com"), ("--client", "other-client")):
        result = await albauth_cli(*base, pin, value, REAL["token"])
        assert result.returncode == 1, (pin, result.stdout)
        assert result.stderr.count("\n") == 1 and "is not" in result.stderr, (pin, result.stderr)


async def test_unpadded_segments_or_a_changed_claim_fail_the_signature(tmp_path: Path) -> None:
    key = write(tmp_path / "alb.pem", REAL["public_key_pem"])
    header, payload, signature = REAL["token"].split(".")
    unpadded = ".".join(s.rstrip("=") for s in (header, payload, signature))
    claims = json.loads(REAL["decoded_payload_json"])
    forged = ".".join((header, b64url_padded(json.dumps({**claims, "username": "admin"}).encode()), signature))
    for token in (unpadded, forged):
        result = await albauth_cli("verify-token", "--key", key, "--at", BEFORE_EXP, token)
        assert result.returncode == 1 and "signature does not verify" in result.stderr


async def test_a_kid_that_is_not_a_uuid_is_never_put_in_the_key_url(key_endpoint: KeyEndpoint) -> None:
    header = json.loads(REAL["decoded_header_json"])
    header["kid"] = "../metrics"
    token = ".".join((b64url_padded(json.dumps(header).encode()), *REAL["token"].split(".")[1:]))
    result = await albauth_cli("verify-token", "--keys-url", key_endpoint.url, token)
    assert result.returncode == 1 and "not a UUID" in result.stderr
    assert key_endpoint.paths == []


async def test_usage_errors_exit_2_and_unknown_kids_exit_1(key_endpoint: KeyEndpoint) -> None:
    no_key = await albauth_cli("verify-token", REAL["token"])
    assert no_key.returncode == 2 and "--keys-url" in no_key.stderr
    nothing = await albauth_cli("verify-token", "-", "--key", "x.pem", stdin="")
    assert nothing.returncode == 2 and "no token" in nothing.stderr
    assert (await albauth_cli("verify-token", "--key", "/no/such.pem", REAL["token"])).returncode == 2
    header = json.loads(REAL["decoded_header_json"])
    header["kid"] = "00000000-0000-4000-8000-000000000000"
    token = ".".join((b64url_padded(json.dumps(header).encode()), *REAL["token"].split(".")[1:]))
    unknown = await albauth_cli("verify-token", "--keys-url", key_endpoint.url, token)
    assert unknown.returncode == 1 and "answered 404" in unknown.stderr
    garbage = await albauth_cli("verify-token", "--unverified", "not-a-token")
    assert garbage.returncode == 1 and "three" in garbage.stderr
    decoded = await albauth_cli("verify-token", "--unverified", REAL["token"])
    assert json.loads(decoded.stdout)["header"]["kid"] == REAL["kid"]
    helped = await albauth_cli("verify-token", "--help")
    assert "examples:" in helped.stdout and "exit status" in helped.stdout


async def _logged_in_token(alb: Alb, upstream: Upstream) -> str:
    await alb.browser.login()
    token = header(upstream.last, "x-amzn-oidc-data")
    assert token is not None
    return token


async def test_a_token_albauth_signed_verifies_against_its_admin_listener(alb: Alb, upstream: Upstream,
                                                                          idp: DevIdP) -> None:
    token = await _logged_in_token(alb, upstream)
    signer = json.loads(base64.urlsafe_b64decode(token.split(".")[0]))["signer"]
    pins = ("--signer", signer, "--issuer", idp.settings.issuer, "--client", CLIENT_ID)
    result = await albauth_cli("verify-token", "--keys-url", alb.admin, "--at", str(START + 60), *pins, token)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["claims"]["sub"] == header(upstream.last, "x-amzn-oidc-identity")
    later = await albauth_cli("verify-token", "--keys-url", alb.admin, "--at", str(START + 121), *pins, token)
    assert later.returncode == 1 and "expired" in later.stderr
    leeway = await albauth_cli("verify-token", "--keys-url", alb.admin, "--at", str(START + 121), "--leeway", "5",
                               *pins, token)
    assert leeway.returncode == 0, leeway.stderr
