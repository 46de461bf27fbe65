"""authenticate-cognito end to end against a Cognito-shaped stand-in (checklist items 5, 6):
the built-in provider runs with a Cognito issuer, and the action's `albauth:` overrides point
the derived Cognito URLs at it, as one does with cognito-local."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import jwt as pyjwt
import pytest
from aiohttp.test_utils import unused_port

from albauth.devidp import DevIdP, IdpClient, load_idp_settings

from .conftest import header

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
async def test_redirect_goes_to_the_derived_cognito_domain(start_alb, domain, expected):
    """Item 5: prefix domain vs custom domain."""
    alb = await start_alb(default=[cognito_action(domain=domain), FORWARD])
    reply = await alb.browser.get("https://app.test/")
    assert reply.status == 302
    parts = urlsplit(reply.location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == expected
    assert f"client_id={CLIENT}&" in reply.location


async def test_cognito_login_signs_with_the_pool_issuer_and_client(start_alb, cognito, upstream):
    """Item 6: iss is https://cognito-idp.<region>.amazonaws.com/<pool_id>, client the app client id."""
    _, base = cognito
    alb = await start_alb(default=[cognito_action(base), FORWARD])
    page = await alb.browser.login()
    assert page.status == 200
    token = header(upstream.last, "x-amzn-oidc-data")
    head = pyjwt.get_unverified_header(token)
    assert head["iss"] == COGNITO_ISSUER and head["client"] == CLIENT
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == COGNITO_ISSUER
    assert list(claims)[-2:] == ["exp", "iss"]
