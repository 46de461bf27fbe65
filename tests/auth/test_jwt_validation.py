"""ALB's jwt-validation action over real HTTP: a JWKS served on loopback, albauth in front of
an echo target. A valid bearer token is forwarded as it came; anything else is a 401 with
RFC 6750's WWW-Authenticate and nothing reaches the target."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port
from joserfc import jws
from joserfc.jwk import ECKey, RSAKey

from albauth.app import Runtime
from albauth.config.errors import ConfigError
from albauth.config.load import load_text
from tests.conftest import Route

ISSUER = "https://issuer.example"
StartAlbauth = Callable[[Any], Awaitable[Runtime]]
EchoUpstream = Callable[..., Awaitable[TestServer]]


_KEYS: dict[str, RSAKey] = {}


def rsa(kid: str) -> RSAKey:
    """One RSA key per kid for the whole module (generating them is slow)."""
    if kid not in _KEYS:
        _KEYS[kid] = RSAKey.generate_key(2048, parameters={"kid": kid})
    return _KEYS[kid]


@dataclass
class Jwks:
    keys: list[Any] = field(default_factory=lambda: [rsa("main")])
    extra: dict[str, Any] = field(default_factory=dict)
    fetches: int = 0
    url: str = ""

    def document(self) -> dict[str, Any]:
        return {"keys": [k.as_dict(private=False) for k in self.keys], **self.extra}


@pytest.fixture
async def jwks(aiohttp_server: Any) -> Jwks:
    state = Jwks()

    async def serve(_: web.Request) -> web.Response:
        state.fetches += 1
        return web.json_response(state.document())

    app = web.Application()
    app.router.add_get("/jwks", serve)
    server: TestServer = await aiohttp_server(app, host="127.0.0.1")
    state.url = str(server.make_url("/jwks"))
    return state


def token(key: Any = None, *, alg: str = "RS256", kid: str | None = None, **claims: Any) -> str:
    key = key or rsa("main")
    now = int(time.time())
    body = {"iss": ISSUER, "exp": now + 300, "iat": now, "sub": "svc-1", **claims}
    body = {k: v for k, v in body.items() if v is not None}
    header = {"alg": alg, "kid": kid or key.kid, "typ": "JWT"}
    return jws.serialize_compact(header, json.dumps(body), key, algorithms=[alg])


def _doc(jwks_url: str, target: str, claims: list[dict[str, Any]] | None = None,
         albauth: dict[str, Any] | None = None) -> str:
    action: dict[str, Any] = {"Type": "jwt-validation", "Order": 1,
                              "JwtValidationConfig": {"JwksEndpoint": jwks_url, "Issuer": ISSUER}}
    if claims:
        action["JwtValidationConfig"]["AdditionalClaims"] = claims
    if albauth:
        action["albauth"] = albauth
    doc = {"albauth": {"admin_listen": "off", "target_groups": {"api": {"targets": [target]}}},
           "listeners": [{"Protocol": "HTTP", "Port": unused_port(),
                          "albauth": {"address": "127.0.0.1", "local_development": True},
                          "DefaultActions": [action, {"Type": "forward", "Order": 2, "TargetGroupArn": "api"}]}]}
    return yaml.safe_dump(doc, sort_keys=False)


@dataclass
class Api:
    url: str
    seen: list[web.Request]

    async def get(self, authorization: str | None) -> aiohttp.ClientResponse:
        headers = {"Authorization": authorization} if authorization is not None else {}
        async with aiohttp.ClientSession() as http:
            async with http.get(self.url + "/orders", headers=headers) as resp:
                await resp.read()
                return resp


StartApi = Callable[..., Awaitable[Api]]


@pytest.fixture
def start_api(start_albauth: StartAlbauth, echo_upstream: EchoUpstream, jwks: Jwks) -> StartApi:
    async def start(claims: list[dict[str, Any]] | None = None, albauth: dict[str, Any] | None = None) -> Api:
        seen: list[web.Request] = []

        async def record(request: web.Request) -> web.Response:
            seen.append(request)
            return web.Response(text=request.headers.get("Authorization", ""))

        routes: list[Route] = [("GET", "/orders", record)]
        upstream = await echo_upstream(routes=routes)
        target = str(upstream.make_url("")).rstrip("/")
        runtime = await start_albauth(load_text(_doc(jwks.url, target, claims, albauth), "api.yaml", {}))
        return Api(runtime.urls[0], seen)

    return start


async def test_a_valid_token_is_forwarded_as_it_came(start_api: StartApi) -> None:
    api = await start_api()
    bearer = f"Bearer {token()}"
    resp = await api.get(bearer)
    assert resp.status == 200
    assert [r.headers["Authorization"] for r in api.seen] == [bearer]


@pytest.mark.parametrize(("bearer", "description"), [
    (lambda: token(iss="https://other.example"), "issuer"),
    (lambda: token(exp=int(time.time()) - 3600), "expired"),
    (lambda: token(exp=None), "no exp"),
    (lambda: token(nbf=int(time.time()) + 3600), "nbf is in the future"),
    (lambda: token(iat=int(time.time()) + 3600), "iat is in the future"),
    (lambda: token(rsa("impostor"), kid="main"), "signature"),
    (lambda: "not.a.jwt", "not a JWT"),
], ids=["wrong-issuer", "expired", "no-exp", "nbf-future", "iat-future", "bad-signature", "garbage"])
async def test_an_invalid_token_is_401_and_nothing_is_forwarded(
        start_api: StartApi, bearer: Callable[[], str], description: str) -> None:
    api = await start_api()
    resp = await api.get(f"Bearer {bearer()}")
    assert resp.status == 401
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="')
    assert description in challenge
    assert resp.headers["Server"] == "awselb/2.0"
    assert not api.seen


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwdw==", "Bearer "])
async def test_no_bearer_token_is_a_plain_bearer_challenge(start_api: StartApi, authorization: str | None) -> None:
    api = await start_api()
    resp = await api.get(authorization)
    assert (resp.status, resp.headers["WWW-Authenticate"]) == (401, "Bearer")
    assert not api.seen


async def test_an_unknown_kid_refetches_the_jwks_once_then_401(start_api: StartApi, jwks: Jwks) -> None:
    api = await start_api()
    assert (await api.get(f"Bearer {token()}")).status == 200
    assert jwks.fetches == 1
    stranger = rsa("stranger")
    for _ in range(3):  # made-up kids cannot make albauth hammer the endpoint
        assert (await api.get(f"Bearer {token(stranger)}")).status == 401
    assert jwks.fetches == 2


async def test_a_rotated_key_is_found_by_the_refetch(start_api: StartApi, jwks: Jwks) -> None:
    api = await start_api()
    assert (await api.get(f"Bearer {token()}")).status == 200
    rotated = rsa("rotated")
    jwks.keys.append(rotated)
    assert (await api.get(f"Bearer {token(rotated)}")).status == 200
    assert jwks.fetches == 2


async def test_a_jwks_over_albs_key_limit_is_refused(start_api: StartApi, jwks: Jwks) -> None:
    jwks.keys = [rsa("main")] + [rsa(f"k{i}") for i in range(10)]
    api = await start_api()
    resp = await api.get(f"Bearer {token()}")
    assert resp.status == 401 and "limits" in resp.headers["WWW-Authenticate"]
    assert not api.seen


async def test_a_jwks_over_albs_size_limit_is_refused(start_api: StartApi, jwks: Jwks) -> None:
    jwks.extra = {"padding": "x" * (151 * 1024)}
    api = await start_api()
    resp = await api.get(f"Bearer {token()}")
    assert resp.status == 401 and "limits" in resp.headers["WWW-Authenticate"]


async def test_es256_is_refused_as_by_alb_unless_allowed(start_api: StartApi, jwks: Jwks) -> None:
    ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
    jwks.keys.append(ec)
    strict = await start_api()
    assert (await strict.get(f"Bearer {token(ec, alg='ES256')}")).status == 401
    relaxed = await start_api(albauth={"algorithms": ["RS256", "ES256"]})
    assert (await relaxed.get(f"Bearer {token(ec, alg='ES256')}")).status == 200


@pytest.mark.parametrize(("claim", "good", "bad"), [
    ({"Format": "single-string", "Name": "tenant", "Values": ["acme", "globex"]},
     {"tenant": "globex"}, {"tenant": "initech"}),
    ({"Format": "string-array", "Name": "roles", "Values": ["orders:read", "orders:write"]},
     {"roles": ["orders:write", "admin", "orders:read"]}, {"roles": ["orders:read"]}),
    ({"Format": "space-separated-values", "Name": "scope", "Values": ["orders.read"]},
     {"scope": "openid orders.read"}, {"scope": "openid"}),
], ids=["single-string", "string-array", "space-separated-values"])
async def test_additional_claims_in_each_format(
        start_api: StartApi, claim: dict[str, Any], good: dict[str, Any], bad: dict[str, Any]) -> None:
    api = await start_api(claims=[claim])
    assert (await api.get(f"Bearer {token(**good)}")).status == 200
    refused = await api.get(f"Bearer {token(**bad)}")
    assert refused.status == 401 and claim["Name"] in refused.headers["WWW-Authenticate"]
    missing = await api.get(f"Bearer {token()}")
    assert missing.status == 401


def _refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_text(text, "api.yaml", {})
    return caught.value


@pytest.mark.parametrize(("claims", "jwks_url", "words"), [
    ([], "http://issuer.example/jwks", "https://"),
    ([{"Format": "single-string", "Name": "exp", "Values": ["1"]}], "https://i.example/jwks", "always checked"),
    ([{"Format": "csv", "Name": "x", "Values": ["1"]}], "https://i.example/jwks", "single-string"),
    ([{"Format": "space-separated-values", "Name": "scope", "Values": ["a b"]}], "https://i.example/jwks",
     "cannot contain a space"),
    ([{"Format": "single-string", "Name": f"c{i}", "Values": ["1"]} for i in range(11)],
     "https://i.example/jwks", "at most 10"),
], ids=["http-endpoint", "reserved-claim", "unknown-format", "space-in-value", "eleven-claims"])
def test_albs_load_time_rules(claims: list[dict[str, Any]], jwks_url: str, words: str) -> None:
    error = _refused(_doc(jwks_url, "http://127.0.0.1:9", claims))
    assert any(words in str(issue) for issue in error.issues), [str(i) for i in error.issues]


def test_a_describe_rules_document_loads_unchanged() -> None:
    rule = {"RuleArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/a/1/2/3",
            "Priority": "10", "IsDefault": False,
            "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
            "Actions": [{"Type": "jwt-validation", "Order": 1, "JwtValidationConfig": {
                "JwksEndpoint": "https://issuer.example/.well-known/jwks.json", "Issuer": ISSUER,
                "AdditionalClaims": [{"Format": "space-separated-values", "Name": "scope", "Values": ["read"]}]}},
                {"Type": "forward", "Order": 2, "TargetGroupArn": "api"}]}
    doc = yaml.safe_load(_doc("https://issuer.example/jwks", "http://127.0.0.1:9"))
    doc["listeners"][0]["Rules"] = [rule]
    settings = load_text(yaml.safe_dump(doc), "api.yaml", {})
    cfg = settings.listeners[0].rules[0].jwt_validation
    assert cfg is not None and cfg.additional_claims[0].values == ("read",)
