"""/healthz says the process is alive; /readyz says whether it can serve logins now, and
which check failed when it cannot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from albauth.devidp import DevIdP
from tests.alb.conftest import Alb, StartAlb, oidc_action
from tests.session.redis_fixtures import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    srv = RedisServer().start()
    yield srv
    srv.close()


async def probe(alb: Alb, path: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(alb.admin + path) as resp:
        body: dict[str, Any] = await resp.json()
        return resp.status, body


async def test_ready_names_every_check_and_the_generation(alb: Alb, idp: DevIdP) -> None:
    status, body = await probe(alb, "/readyz")
    assert status == 200, body
    assert body["status"] == "ready" and body["failed"] == [] and body["generation"] == 1
    assert set(body["checks"]) == {"config", "signing_keys", f"provider {idp.settings.issuer}"}
    assert set(body["checks"].values()) == {"ok"}
    assert (await probe(alb, "/healthz"))[0] == 200


async def test_redis_stopped_is_503_naming_redis_while_healthz_stays_200(
        start_alb: StartAlb, redis_server: RedisServer) -> None:
    alb = await start_alb(albauth={"session": {"store": "redis", "redis_url": redis_server.url,
                                               "secrets": ["x" * 40]}})
    status, body = await probe(alb, "/readyz")
    assert status == 200 and body["checks"]["redis"] == "ok", body
    redis_server.stop()
    status, body = await probe(alb, "/readyz")
    assert status == 503
    assert body["failed"] == ["redis"] and body["checks"]["redis"].startswith("failed: ")
    assert (await probe(alb, "/healthz"))[0] == 200  # a restart would not bring Redis back


async def test_provider_down_with_discovery_is_503_naming_the_provider(
        start_alb: StartAlb, idp: DevIdP) -> None:
    down = f"http://127.0.0.1:{unused_port()}"  # nothing listens there
    action = oidc_action(idp)
    action["AuthenticateOidcConfig"] = {"Issuer": down, "ClientId": "app", "ClientSecret": "s" * 20}
    alb = await start_alb(default=[action, {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}])
    status, body = await probe(alb, "/readyz")
    assert status == 503, body
    assert body["failed"] == [f"provider {down}"]
    assert body["checks"]["config"] == "ok" and body["checks"]["signing_keys"] == "ok"

