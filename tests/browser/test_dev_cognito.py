"""`albauth dev --cognito`: an authenticate-cognito rule as a CloudFormation template writes
it, in front of the Cognito stand-in; signed in once in Chromium, the demo page shows
Cognito's claims, and logging out ends the pool's session too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import unused_port
from playwright.async_api import Page, expect

from albauth.devidp import CognitoPool
from albauth.devmode import SIGNED_OUT_PATH, DevOptions, DevStack, dev_document

from .conftest import ARTIFACTS, needs_chromium, start_stack

POOL = CognitoPool()  # us-east-1 / us-east-1_Dev000000, as `albauth dev --cognito` without flags


@pytest.fixture
async def cognito_stack() -> AsyncIterator[DevStack]:
    dev = await start_stack(cognito=POOL)
    yield dev
    await dev.stop()


def test_the_rule_is_authenticate_cognito_as_a_template_writes_it() -> None:
    opts = DevOptions(port=unused_port(), idp_port=unused_port(), cognito=POOL)
    stack = DevStack(opts)
    doc = dev_document(opts, stack.idp.settings, stack.client)
    action = doc["listeners"][0]["DefaultActions"][0]
    assert action["Type"] == "authenticate-cognito"
    assert action["AuthenticateCognitoConfig"] == {
        "UserPoolArn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Dev000000",
        "UserPoolClientId": "albauth-dev", "UserPoolDomain": "albauth-dev", "Scope": "openid email profile",
        "SessionTimeout": 604800, "OnUnauthenticatedRequest": "authenticate"}
    domain = f"http://127.0.0.1:{opts.idp_port}"
    # Only the `albauth:` block differs from a template: the secret ALB reads from Cognito,
    # and the stand-in's URLs in place of the derived ones.
    assert action["albauth"] == {
        "client_secret": "albauth-dev-secret", "issuer": f"{domain}/us-east-1_Dev000000",
        "authorization_endpoint": f"{domain}/oauth2/authorize", "token_endpoint": f"{domain}/oauth2/token",
        "userinfo_endpoint": f"{domain}/oauth2/userInfo", "logout_endpoint": f"{domain}/logout"}
    auth = stack.settings.listeners[0].rules[-1].authenticate
    assert auth is not None and auth.kind == "cognito" and auth.issuer == f"{domain}/us-east-1_Dev000000"
    assert "Cognito     stand-in for us-east-1_Dev000000 (us-east-1)" in stack.banner()


@needs_chromium
async def test_sign_in_shows_cognito_claims_and_log_out_ends_the_pool_session(
        cognito_stack: DevStack, page: Page) -> None:
    stack = cognito_stack
    domain = stack.idp.settings.hosted_domain
    await page.goto(stack.url)
    await expect(page).to_have_url(re.compile(re.escape(f"{domain}/login?")))
    await expect(page.locator(".badge")).to_have_text("Amazon Cognito stand-in")
    await expect(page.locator("main")).to_contain_text("us-east-1_Dev000000")
    await page.fill("#username", "alice")
    await page.fill("#password", "alice")
    await page.click("button[value=login]")

    await expect(page).to_have_url(stack.url)
    await expect(page.locator("#user-name")).to_have_text("Alice Liddell")
    meta = page.locator(".hero .meta")
    await expect(meta).to_contain_text("groups: admins, developers")  # from the access token
    await expect(meta).to_contain_text("custom:department: R&D")
    await expect(page.locator("#signature")).to_have_attribute("data-verified", "true")
    claims = page.locator("#jwt-claims")
    await expect(claims).to_contain_text('"email_verified": "true"')
    await expect(claims).to_contain_text('"username": "alice"')
    await expect(claims).to_contain_text(f'"iss": "{stack.issuer}"')
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "demo-page-cognito.png"), full_page=True)

    await page.click("#logout")
    await expect(page).to_have_url(stack.url.rstrip("/") + SIGNED_OUT_PATH)
    await page.goto(stack.url)  # the pool's session ended too: the form, not a silent sign-in
    await expect(page).to_have_url(re.compile(re.escape(f"{domain}/login?")))
    await expect(page.locator("form #username")).to_be_visible()
