"""authenticate-cognito end to end against a Cognito-shaped stand-in (checklist items 5, 6):
the built-in provider runs with a Cognito issuer, and the action's `albauth:` overrides point
the derived Cognito URLs at it, as one does with cognito-local."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import jwt as pyjwt
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port

from albauth.app import Runtime
from albauth.config.load import load_text
from albauth.devidp import CognitoPool, DevIdP, IdpClient, cognito_claims, load_idp_settings

from .browser import Browser
from .conftest import StartAlb, Upstream, header

REGION, POOL = "eu-west-1", "eu-west-1_AbCdEf"
ARN = f"arn:aws:cognito-idp:{REGION}:111122223333:userpool/{POOL}"
COGNITO_ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
CLIENT = "1example23456789"


@pytest.fixture
async def cognito(aiohttp_server: Any, clock: Any) -> tuple[DevIdP, str]:
    """A provider whose tokens carry Cognito's issuer, served on loopback under the pool id."""
    port = unused_port()
    settings = load_idp_settings(None, COGNITO_ISSUER)
    client = IdpClient(client_id=CLIENT, client_secret="cognito-secret",
                       redirect_uris=("https://app.test/oauth2/idpresponse",),
                       post_logout_redirect_uris=("https://app.test/*",))
    provider = DevIdP(replace(settings, clients=(client,)), clock=clock)
    await aiohttp_server(provider.app, port=port)
    return provider, f"http://127.0.0.1:{port}/{POOL}"


def cognito_action(base: str | None = None, domain: str = "my-prefix") -> dict[str, Any]:
    action: dict[str, Any] = {"Type": "authenticate-cognito", "Order": 1, "AuthenticateCognitoConfig": {
        "UserPoolArn": ARN, "UserPoolClientId": CLIENT, "UserPoolDomain": domain}}
    ext: dict[str, Any] = {"client_secret": "cognito-secret"}
    if base:
        ext.update(authorization_endpoint=f"{base}/authorize", token_endpoint=f"{base}/token",
                   userinfo_endpoint=f"{base}/userinfo", jwks_uri=f"{base}/jwks")
    action["albauth"] = ext
    return action


FORWARD = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}


@pytest.mark.parametrize("domain, expected", [
    ("my-prefix", f"https://my-prefix.auth.{REGION}.amazoncognito.com/oauth2/authorize"),
    ("auth.example.com", "https://auth.example.com/oauth2/authorize"),
])
async def test_redirect_goes_to_the_derived_cognito_domain(start_alb: StartAlb, domain: str, expected: str) -> None:
    """Item 5: prefix domain vs custom domain."""
    alb = await start_alb(default=[cognito_action(domain=domain), FORWARD])
    reply = await alb.browser.get("https://app.test/")
    assert reply.status == 302
    parts = urlsplit(reply.location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == expected
    assert f"client_id={CLIENT}&" in reply.location


async def test_cognito_login_signs_with_the_pool_issuer_and_client(
        start_alb: StartAlb, cognito: tuple[DevIdP, str], upstream: Upstream) -> None:
    """Item 6: iss is https://cognito-idp.<region>.amazonaws.com/<pool_id>, client the app client id."""
    _, base = cognito
    alb = await start_alb(default=[cognito_action(base), FORWARD])
    page = await alb.browser.login()
    assert page.status == 200
    token = header(upstream.last, "x-amzn-oidc-data")
    assert token is not None
    head = pyjwt.get_unverified_header(token)
    assert head["iss"] == COGNITO_ISSUER and head["client"] == CLIENT
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == COGNITO_ISSUER
    assert list(claims)[-2:] == ["exp", "iss"]


# --- a rule pasted from a CloudFormation template, against the Cognito-mode provider ---

LOCAL_POOL = CognitoPool("eu-west-1", POOL)
# The Properties of an AWS::ElasticLoadBalancingV2::ListenerRule, as a template has them; only
# the `albauth:` block is added, to point the derived Cognito URLs at the local stand-in.
CFN_DOCUMENT = """
albauth:
  admin_listen: 127.0.0.1:${ADMIN_PORT}
  target_groups:
    AppTargetGroup: {targets: ["${APP_URL}"]}
  session: {secrets: [test-session-secret-0123456789-abcdefghijklmnop]}
listeners:
  - Protocol: HTTPS
    Port: ${PORT}
    albauth: {address: 127.0.0.1, certificate_file: "${TLS_CERT}", key_file: "${TLS_KEY}"}
    DefaultActions:
      - Type: fixed-response
        FixedResponseConfig: {StatusCode: "404", ContentType: text/plain, MessageBody: Not found}
    Rules:
      - ListenerArn: !Ref HttpsListener
        Priority: 10
        Conditions:
          - Field: host-header
            HostHeaderConfig: { Values: [app.test] }
        Actions:
          - Type: authenticate-cognito
            Order: 1
            AuthenticateCognitoConfig:
              UserPoolArn: arn:aws:cognito-idp:eu-west-1:111122223333:userpool/eu-west-1_AbCdEf
              UserPoolClientId: albauth-dev
              UserPoolDomain: my-prefix
              Scope: openid email profile
              OnUnauthenticatedRequest: authenticate
              SessionTimeout: 3600
            albauth:
              client_secret: ${COGNITO_CLIENT_SECRET}
              issuer: ${COGNITO_ISSUER}
              authorization_endpoint: ${COGNITO_BASE_URL}/oauth2/authorize
              token_endpoint: ${COGNITO_BASE_URL}/oauth2/token
              userinfo_endpoint: ${COGNITO_BASE_URL}/oauth2/userInfo
              logout_endpoint: ${COGNITO_BASE_URL}/logout
              logout_path: /logout
              post_logout_redirect_uri: https://app.test/signed-out
          - Type: forward
            Order: 2
            TargetGroupArn: !Ref AppTargetGroup
"""


@dataclass
class PoolStandIn:
    idp: DevIdP
    paths: list[str]  # every path the provider was asked for, in order


@pytest.fixture
async def pool(aiohttp_server: Any, clock: Any) -> PoolStandIn:
    """`albauth idp --cognito`'s provider, recording what it is asked for."""
    port = unused_port()
    idp = DevIdP(load_idp_settings(None, f"http://127.0.0.1:{port}", cognito=LOCAL_POOL), clock=clock)
    paths: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        paths.append(request.path)
        response: web.StreamResponse = await handler(request)
        return response

    idp.app.middlewares.append(record)
    await aiohttp_server(idp.app, port=port)
    return PoolStandIn(idp, paths)


@pytest.fixture
async def cfn_alb(pool: PoolStandIn, upstream: Upstream, clock: Any, tls_files: tuple[str, str]
                  ) -> AsyncIterator[Browser]:
    settings_env = {"PORT": str(unused_port()), "ADMIN_PORT": str(unused_port()), "APP_URL": upstream.url,
                    "TLS_CERT": tls_files[0], "TLS_KEY": tls_files[1], "COGNITO_CLIENT_SECRET": "albauth-dev-secret",
                    "COGNITO_ISSUER": pool.idp.settings.issuer, "COGNITO_BASE_URL": pool.idp.settings.hosted_domain}
    settings = load_text(CFN_DOCUMENT, "template.yaml", settings_env)
    runtime = Runtime(settings, clock=clock)
    await runtime.start()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        yield Browser(http, f"https://127.0.0.1:{settings_env['PORT']}")
    await runtime.stop()


async def test_a_cloudformation_rule_logs_in_against_the_pool_and_the_app_gets_its_userinfo(
        pool: PoolStandIn, cfn_alb: Browser, upstream: Upstream) -> None:
    page = await cfn_alb.login()
    assert page.status == 200
    alice = pool.idp.settings.user("alice")
    assert alice is not None
    token = header(upstream.last, "x-amzn-oidc-data")
    assert token is not None
    claims = pyjwt.decode(token, options={"verify_signature": False})
    # The claims are Cognito's UserInfo, in its order, then ALB's exp and iss.
    assert list(claims) == [*cognito_claims.userinfo(alice), "exp", "iss"]
    assert {k: claims[k] for k in cognito_claims.userinfo(alice)} == {
        "sub": alice.sub, "email": "alice@example.com", "email_verified": "true", "name": "Alice Liddell",
        "custom:department": "R&D", "username": "alice"}
    assert claims["iss"] == pool.idp.settings.issuer
    assert header(upstream.last, "x-amzn-oidc-identity") == alice.sub
    access = pyjwt.decode(header(upstream.last, "x-amzn-oidc-accesstoken") or "", options={"verify_signature": False})
    assert (access["token_use"], access["username"], access["cognito:groups"]) == (
        "access", "alice", ["admins", "developers"])
    # albauth checked the ID token with the keys the pool publishes under its issuer.
    issuer_path = urlsplit(pool.idp.settings.issuer).path
    assert f"{issuer_path}/.well-known/jwks.json" in pool.paths
    assert pool.paths.index("/oauth2/token") < pool.paths.index(f"{issuer_path}/.well-known/jwks.json")


async def test_the_pool_id_token_validates_against_the_pool_jwks_with_the_pool_issuer(pool: PoolStandIn) -> None:
    idp = pool.idp
    code = idp.issue_code("bob", "albauth-dev", "https://app.test/oauth2/idpresponse", scope="openid email")
    async with aiohttp.ClientSession() as http:
        meta = await (await http.get(f"{idp.settings.issuer}/.well-known/openid-configuration")).json()
        body = await (await http.post(meta["token_endpoint"], data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": "https://app.test/oauth2/idpresponse",
            "client_id": "albauth-dev", "client_secret": "albauth-dev-secret"})).json()
        jwks = await (await http.get(meta["jwks_uri"])).json()
    key = pyjwt.PyJWK(jwks["keys"][0]).key
    claims = pyjwt.decode(body["id_token"], key, algorithms=["RS256"], audience="albauth-dev",
                          issuer=f"{idp.settings.hosted_domain}/{POOL}", options={"verify_exp": False})
    assert (claims["token_use"], claims["cognito:username"], claims["cognito:groups"]) == ("id", "bob", ["developers"])


async def test_logout_goes_through_cognitos_logout_and_ends_the_pool_session(
        pool: PoolStandIn, cfn_alb: Browser) -> None:
    await cfn_alb.login()
    # Signed in at the pool: a second authorization is silent (the hosted UI's session).
    silent = await cfn_alb.get(f"{pool.idp.settings.hosted_domain}/oauth2/authorize?" + urlencode({
        "client_id": "albauth-dev", "response_type": "code", "scope": "openid",
        "redirect_uri": "https://app.test/oauth2/idpresponse"}))
    assert silent.status == 302 and silent.location.startswith("https://app.test/oauth2/idpresponse?code=")

    out = await cfn_alb.request("POST", "https://app.test/logout", headers={"Sec-Fetch-Site": "same-origin"})
    assert out.status == 302
    assert out.location == f"{pool.idp.settings.hosted_domain}/logout?" + urlencode({
        "client_id": "albauth-dev", "logout_uri": "https://app.test/signed-out"})
    landing = await cfn_alb.get(out.location)
    assert (landing.status, landing.location) == (302, "https://app.test/signed-out")

    again = await cfn_alb.get("https://app.test/")
    assert again.status == 302
    asked = await cfn_alb.get(again.location)
    assert asked.status == 302 and asked.location.startswith("/login?")  # the form again, not a silent code
