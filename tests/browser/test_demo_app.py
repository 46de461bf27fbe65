"""The demo app over plain HTTP (no browser): how it judges `x-amzn-oidc-data` (spec
5.2: signature over the padded text, `signer`, `exp`, key fetched by kid and cached),
what it does without one, and its ALB-style logout (spec 3.2)."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from albauth.demo import PublicKeys, verify_oidc_data
from albauth.devmode import SIGNED_OUT_PATH, DevStack
from albauth.signing import AlbJwtSigner, KeyRing

CLAIMS = {"sub": "b56acbd1", "name": "Alice Liddell", "email": "alice@example.com"}


def signed(stack: DevStack, *, keyring: KeyRing | None = None, signer: str | None = None,
           now: float | None = None, claims: dict[str, Any] | None = None) -> str:
    assert stack.runtime is not None
    ring = keyring or stack.runtime.keyring
    assert isinstance(ring, KeyRing)  # dev mode keeps its keys in a file, not shared through Redis
    alb = AlbJwtSigner(ring, signer_arn=signer or stack.signer_arn)
    return alb.sign(claims or CLAIMS, issuer=stack.issuer, client_id="albauth-dev",
                    now=stack.clock() if now is None else now)


async def demo_get(stack: DevStack, path: str = "/", **headers: str) -> tuple[int, str, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{stack.opts.app_port}{path}", headers=headers,
                     allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp


async def test_a_token_signed_by_albauth_is_shown_verified_with_the_user(stack: DevStack) -> None:
    status, page, _ = await demo_get(stack, **{"x-amzn-oidc-data": signed(stack)})
    assert status == 200
    assert 'data-verified="true"' in page and "Signature verified" in page
    assert "alice@example.com" in page and "Alice Liddell" in page


async def test_a_changed_payload_is_shown_as_not_verified(stack: DevStack) -> None:
    h, _, s = signed(stack).split(".")
    _, forged_payload, _ = signed(stack, claims={**CLAIMS, "email": "mallory@example.com"}).split(".")
    status, page, _ = await demo_get(stack, **{"x-amzn-oidc-data": f"{h}.{forged_payload}.{s}"})
    assert status == 200
    assert 'data-verified="false"' in page and "signature does not verify" in page


async def test_a_token_from_another_key_has_no_public_key_here(stack: DevStack) -> None:
    _, page, _ = await demo_get(stack, **{"x-amzn-oidc-data": signed(stack, keyring=KeyRing.generate())})
    assert 'data-verified="false"' in page and "answered 404" in page


async def test_an_expired_token_is_not_verified(stack: DevStack) -> None:
    _, page, _ = await demo_get(stack, **{"x-amzn-oidc-data": signed(stack, now=stack.clock() - 600)})
    assert 'data-verified="false"' in page and "token has expired" in page


async def test_another_load_balancers_signer_is_refused(stack: DevStack) -> None:
    other = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/other/0123456789abcdef"
    _, page, _ = await demo_get(stack, **{"x-amzn-oidc-data": signed(stack, signer=other)})
    assert 'data-verified="false"' in page and "is not this load balancer" in page


async def test_garbage_in_the_header_is_explained_not_a_crash(stack: DevStack) -> None:
    status, page, _ = await demo_get(stack, **{"x-amzn-oidc-data": "<script>.x.y"})
    assert status == 200 and 'data-verified="false"' in page
    assert "<script>.x.y" not in page and "&lt;script&gt;.x.y" in page  # shown, escaped


async def test_without_oidc_data_the_page_explains_it_was_reached_directly(stack: DevStack) -> None:
    status, page, _ = await demo_get(stack)
    assert status == 200
    assert "did not come through albauth" in page and stack.url in page


async def test_the_public_key_is_fetched_once_per_kid(stack: DevStack, aiohttp_server: Any) -> None:
    assert stack.runtime is not None and stack.runtime.keyring is not None
    hits: list[str] = []
    pem = stack.runtime.keyring.public_pem(stack.runtime.keyring.current.kid)

    async def key(request: web.Request) -> web.Response:
        hits.append(request.match_info["kid"])
        return web.Response(body=pem, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/{kid}", key)
    server: TestServer = await aiohttp_server(app)
    async with aiohttp.ClientSession() as http:
        keys = PublicKeys(str(server.make_url("")), http)
        for _ in range(3):
            result = await verify_oidc_data(signed(stack), keys, expected_signer=None)
            assert result.verified, result.reason
    assert hits == [stack.runtime.keyring.current.kid]


async def test_logout_expires_every_shard_and_goes_to_the_providers_end_session(stack: DevStack) -> None:
    host = f"127.0.0.1:{stack.opts.port}"
    status, _, resp = await demo_get(stack, "/logout", Host=host, **{"X-Forwarded-Proto": "http"})
    assert status == 302
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{stack.issuer}/logout"
    assert parse_qs(location.query) == {"client_id": ["albauth-dev"],
                                        "post_logout_redirect_uri": [f"http://{host}{SIGNED_OUT_PATH}"]}
    expired = {}
    for line in resp.headers.getall("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(line)
        for name, morsel in cookie.items():
            assert morsel.value == "" and morsel["max-age"] == "0" and morsel["path"] == "/"
            assert "1970" in morsel["expires"]
            expired[name] = morsel
    assert sorted(expired) == [f"AWSELBAuthSessionCookie-{i}" for i in range(4)]


async def test_the_signed_out_page_is_reachable_without_signing_in(stack: DevStack) -> None:
    async with aiohttp.ClientSession() as http, \
            http.get(stack.url.rstrip("/") + SIGNED_OUT_PATH, allow_redirects=False) as resp:
        assert resp.status == 200
        assert "Sign in again" in await resp.text()
