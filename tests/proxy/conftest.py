"""Forwarding as ALB does it (spec 5.3, 6.1, 7.3), over real loopback HTTP.

A real upstream echoes what it received; albauth runs in-process (`start_albauth`) or as a
real `albauth serve` process where memory or signals are the point. Raw sockets are used
where aiohttp's client would normalise the request away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from foundation_helpers import address, proxy_settings

from .helpers import EchoUpstream, StartAlbauth


@pytest.fixture
async def proxied(echo_upstream: EchoUpstream, start_albauth: StartAlbauth) -> tuple[str, int]:
    """albauth forwarding everything to one echo upstream: (base URL, listener port)."""
    upstream = await echo_upstream()
    return address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session
