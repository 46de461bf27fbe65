"""`serve_idp`, which `albauth idp` runs: it serves until cancelled and says how to sign in."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from albauth.devidp.serve import serve_idp


async def test_serve_idp_serves_until_cancelled(capsys: pytest.CaptureFixture[str]) -> None:
    port = unused_port()
    task = asyncio.create_task(serve_idp("127.0.0.1", port, None))
    issuer = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(f"{issuer}/.well-known/openid-configuration") as resp:
                    doc = await resp.json()
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.02)
        else:
            pytest.fail("the provider never started")
    assert doc["issuer"] == issuer
    out = capsys.readouterr().out
    assert issuer in out and "alice / alice" in out
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"{issuer}/jwks")


async def test_serve_idp_in_cognito_mode_serves_the_pool(capsys: pytest.CaptureFixture[str]) -> None:
    from albauth.cli import _parser
    from albauth.devidp.serve import cognito_pool

    port = unused_port()
    args = _parser().parse_args(["idp", "--port", str(port), "--cognito", "--region", "eu-west-1",
                                 "--user-pool-id", "eu-west-1_Local1"])
    pool = cognito_pool(args)
    assert pool is not None and (pool.region, pool.pool_id) == ("eu-west-1", "eu-west-1_Local1")
    task = asyncio.create_task(serve_idp("127.0.0.1", port, None, cognito=pool))
    issuer = f"http://127.0.0.1:{port}/eu-west-1_Local1"
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(f"{issuer}/.well-known/openid-configuration") as resp:
                    doc = await resp.json()
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.02)
        else:
            pytest.fail("the provider never started")
    assert doc["issuer"] == issuer and doc["userinfo_endpoint"] == f"http://127.0.0.1:{port}/oauth2/userInfo"
    assert "Cognito user pool eu-west-1_Local1" in capsys.readouterr().out
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
