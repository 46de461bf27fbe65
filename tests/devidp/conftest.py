from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import unused_port

from albauth.clock import FakeClock
from albauth.devidp import DevIdP, IdpSettings, load_idp_settings

from .flows import HttpClient

START = 1_750_000_000.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings() -> IdpSettings:
    """The built-in demo configuration; the issuer is replaced once the port is known."""
    return load_idp_settings(None, "http://127.0.0.1:1")


StartIdp = Callable[..., Awaitable[tuple[DevIdP, HttpClient]]]


@pytest.fixture
def start_idp(aiohttp_server: Any, aiohttp_client: Any, clock: FakeClock, settings: IdpSettings) -> StartIdp:
    """Start a provider on a free loopback port; keyword arguments replace settings fields."""

    async def start(path: str = "", **changes: Any) -> tuple[DevIdP, HttpClient]:
        port = unused_port()
        idp = DevIdP(replace(settings, issuer=f"http://127.0.0.1:{port}{path}", **changes), clock=clock)
        server = await aiohttp_server(idp.app, port=port)
        return idp, await aiohttp_client(server)

    return start


@pytest.fixture
async def idp_client(start_idp: StartIdp) -> tuple[DevIdP, HttpClient]:
    return await start_idp()


@pytest.fixture
def idp(idp_client: tuple[DevIdP, HttpClient]) -> DevIdP:
    return idp_client[0]


@pytest.fixture
def client(idp_client: tuple[DevIdP, HttpClient]) -> HttpClient:
    return idp_client[1]
