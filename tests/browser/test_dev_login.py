"""`albauth dev` in a real browser: sign in at the provider, see what the app behind the
load balancer receives, log out the ALB way (spec 3.2), and cancel a sign-in (561)."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from albauth.devmode import SIGNED_OUT_PATH, DevStack

from .conftest import ARTIFACTS, needs_chromium

pytestmark = needs_chromium

SHARDS = tuple(f"AWSELBAuthSessionCookie-{i}" for i in range(4))


async def _at_login_form(page: Page, stack: DevStack) -> None:
    await expect(page).to_have_url(re.compile(re.escape(f"{stack.issuer}/authorize?")))
    await expect(page.locator("form #username")).to_be_visible()
    await expect(page.locator("form #password")).to_be_visible()


async def test_sign_in_shows_verified_identity_and_log_out_asks_to_sign_in_again(
        stack: DevStack, page: Page) -> None:
    await page.goto(stack.url)
    await _at_login_form(page, stack)
    demo_users = page.locator("section.demo")
    for user in ("alice", "bob", "carol"):
        await expect(demo_users).to_contain_text(user)

    await page.fill("#username", "alice")
    await page.fill("#password", "alice")
    await page.click("button[value=login]")

    await expect(page).to_have_url(stack.url)
    await expect(page.locator("#user-name")).to_have_text("Alice Liddell")
    await expect(page.locator(".hero .email")).to_have_text("alice@example.com")
    signature = page.locator("#signature")
    await expect(signature).to_have_attribute("data-verified", "true")
    await expect(signature.locator("h2")).to_have_text("Signature verified")
    await expect(page.locator("#jwt-claims")).to_contain_text('"email": "alice@example.com"')
    assert {c["name"] for c in await page.context.cookies(stack.url)} >= {SHARDS[0]}
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "demo-page.png"), full_page=True)
    await page.set_viewport_size({"width": 380, "height": 800})  # a phone: nothing may scroll sideways
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.screenshot(path=str(ARTIFACTS / "demo-page-narrow.png"), full_page=True)

    await page.click("#logout")
    await expect(page).to_have_url(stack.url.rstrip("/") + SIGNED_OUT_PATH)
    await expect(page.locator("h1")).to_have_text("You are signed out")
    assert not {c["name"] for c in await page.context.cookies(stack.url)} & set(SHARDS)

    await page.goto(stack.url)
    await _at_login_form(page, stack)


async def test_cancel_at_the_provider_ends_in_albs_561_page(stack: DevStack, page: Page) -> None:
    await page.goto(stack.url)
    await _at_login_form(page, stack)
    async with page.expect_response(re.compile(r"/oauth2/idpresponse\?")) as callback:
        await page.click("button[value=cancel]")
    response = await callback.value
    assert response.status == 561
    await expect(page.locator("h1")).to_have_text("561 Unauthorized")
