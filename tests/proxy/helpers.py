"""What the forwarding tests share: the shape of the suite's fixtures, ALB's error page,
and reading what the echo upstream saw."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from albauth.app import Runtime
from albauth.config.model import Settings

# tests/conftest.py's `echo_upstream(routes, **server_kwargs)` and `start_albauth(settings)`.
EchoUpstream = Callable[..., Awaitable[TestServer]]
StartAlbauth = Callable[[Settings], Awaitable[Runtime]]


def alb_page(status: int, reason: str) -> bytes:
    """ALB's error page as spec 6.2 gives it."""
    title = f"{status} {reason}"
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n").encode()


async def get_echo(client: aiohttp.ClientSession, url: str, **kwargs: Any) -> dict[str, Any]:
    async with client.request(kwargs.pop("method", "GET"), url, **kwargs) as resp:
        assert resp.status == 200, await resp.text()
        data: dict[str, Any] = await resp.json()
        return data
