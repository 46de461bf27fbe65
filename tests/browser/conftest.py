"""The whole `albauth dev` stack in-process on free loopback ports, and Debian's Chromium
driven by Playwright. Browser tests skip only when /usr/bin/chromium is absent."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import unused_port
from playwright.async_api import Page, async_playwright

from albauth.devmode import DevOptions, DevStack, PortUnavailable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                    reason=f"Debian's Chromium is not installed at {CHROMIUM} "
                                           "(apt-get install -y chromium)")


async def start_stack(**options: Any) -> DevStack:
    """A dev stack on free ports; tried again when another process takes one of them
    between unused_port() and the bind (the machine is shared)."""
    for attempt in range(3):
        dev = DevStack(DevOptions(port=unused_port(), idp_port=unused_port(), app_port=unused_port(),
                                  admin_port=unused_port(), **options))
        try:
            await dev.start()
            return dev
        except PortUnavailable:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@pytest.fixture
async def stack() -> AsyncIterator[DevStack]:
    dev = await start_stack()
    yield dev
    await dev.stop()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1100, "height": 900})
        context.set_default_timeout(5000)
        yield await context.new_page()
        await browser.close()
