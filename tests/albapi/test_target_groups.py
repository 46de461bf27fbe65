"""Target groups: ALB's algorithms, lb_cookie stickiness (AWSALB/AWSALBCORS), group stickiness
for weighted forwards (AWSALBTG) and albauth's passive health, over real HTTP to real targets
that say who they are."""

from __future__ import annotations

import asyncio
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from albauth.config.errors import ConfigError
from tests.support import address

from .helpers import StartAlbauth, attributes, load_doc, settings_doc


class Targets:
    """Named echo targets: GET /who answers the name; GET /hold waits until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.urls: dict[str, str] = {}

    async def start(self, echo_upstream: Any, *names: str) -> None:
        for name in names:
            async def who(request: web.Request, name: str = name) -> web.Response:
                return web.Response(text=name)

            async def hold(request: web.Request, name: str = name) -> web.Response:
                await self.release.wait()
                return web.Response(text=name)

            server = await echo_upstream([("GET", "/who", who), ("GET", "/hold", hold)])
            self.urls[name] = str(server.make_url("")).rstrip("/")


async def _albauth(start_albauth: StartAlbauth, groups: dict[str, dict[str, Any]],
                   default: list[dict[str, Any]] | None = None) -> str:
    doc = settings_doc(["http://127.0.0.1:1"])
    doc["albauth"]["target_groups"] = groups
    if default is not None:
        doc["listeners"][0]["DefaultActions"] = default
    else:
        doc["listeners"][0]["DefaultActions"] = [{"Type": "forward", "TargetGroupArn": next(iter(groups))}]
    return address(await start_albauth(load_doc(doc)))[0]


def _tg_attributes(**pairs: str) -> list[dict[str, str]]:
    return attributes(**pairs)


async def _who(session: aiohttp.ClientSession, base: str, cookies: dict[str, str] | None = None) -> str:
    async with session.get(base + "/who", cookies=cookies) as resp:
        return await resp.text()


@pytest.fixture
async def session() -> Any:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s:
        yield s


async def test_round_robin_takes_turns(start_albauth: StartAlbauth, echo_upstream: Any,
                                       session: aiohttp.ClientSession) -> None:
    targets = Targets()
    await targets.start(echo_upstream, "a", "b")
    base = await _albauth(start_albauth, {"app": {"targets": list(targets.urls.values())}})
    seen = [await _who(session, base) for _ in range(6)]
    assert sorted(seen) == ["a", "a", "a", "b", "b", "b"] and seen[0] != seen[1]


@pytest.mark.parametrize(("algorithm", "others_to_free_target"), [("least_outstanding_requests", 4),
                                                                   ("round_robin", 2)])
async def test_least_outstanding_requests_avoids_a_busy_target(
        start_albauth: StartAlbauth, echo_upstream: Any, session: aiohttp.ClientSession, algorithm: str,
        others_to_free_target: int) -> None:
    targets = Targets()
    await targets.start(echo_upstream, "a", "b")
    base = await _albauth(start_albauth, {"app": {"targets": list(targets.urls.values()), "TargetGroupAttributes":
                                                  _tg_attributes(**{"load_balancing.algorithm.type": algorithm})}})
    held = asyncio.create_task(session.get(base + "/hold"))
    await asyncio.sleep(0.2)  # the hold is in flight at one target
    seen = [await _who(session, base) for _ in range(4)]
    targets.release.set()
    busy = await (await held).text()
    assert sum(1 for s in seen if s != busy) == others_to_free_target


async def test_lb_cookie_stickiness(start_albauth: StartAlbauth, echo_upstream: Any,
                                    session: aiohttp.ClientSession) -> None:
    targets = Targets()
    await targets.start(echo_upstream, "a", "b")
    base = await _albauth(start_albauth, {"app": {"targets": list(targets.urls.values()), "TargetGroupAttributes":
                                                  _tg_attributes(**{"stickiness.enabled": "true",
                                                                    "stickiness.type": "lb_cookie",
                                                                    "stickiness.lb_cookie.duration_seconds": "3600"})}})
    async with session.get(base + "/who") as resp:
        first = await resp.text()
        set_cookies = resp.headers.getall("Set-Cookie")
    plain = next(c for c in set_cookies if c.startswith("AWSALB="))
    cors = next(c for c in set_cookies if c.startswith("AWSALBCORS="))
    assert re.fullmatch(r"AWSALB=[0-9a-f]+; Expires=[^;]+ GMT; Path=/", plain), plain
    assert cors.endswith("; Path=/; SameSite=None; Secure")
    expires = parsedate_to_datetime(plain.split("Expires=")[1].split(";")[0]).timestamp()
    assert abs(expires - (time.time() + 3600)) < 60
    token = plain.split(";")[0].split("=", 1)[1]
    assert [await _who(session, base, {"AWSALB": token}) for _ in range(6)] == [first] * 6
    assert [await _who(session, base, {"AWSALBCORS": token}) for _ in range(4)] == [first] * 4
    forged = [await _who(session, base, {"AWSALB": "0" * 40}) for _ in range(4)]
    assert sorted(set(forged)) == ["a", "b"]  # an unknown cookie: a fresh choice each time


async def test_target_group_stickiness_for_weighted_forwards(start_albauth: StartAlbauth, echo_upstream: Any,
                                                             session: aiohttp.ClientSession) -> None:
    targets = Targets()
    await targets.start(echo_upstream, "blue", "green")
    forward = [{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": "blue", "Weight": 50}, {"TargetGroupArn": "green", "Weight": 50}],
        "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 600}}}]
    base = await _albauth(start_albauth, {"blue": {"targets": [targets.urls["blue"]]},
                                          "green": {"targets": [targets.urls["green"]]}}, forward)
    async with session.get(base + "/who") as resp:
        first = await resp.text()
        tg = next(c for c in resp.headers.getall("Set-Cookie") if c.startswith("AWSALBTG="))
        assert any(c.startswith("AWSALBTGCORS=") and "SameSite=None; Secure" in c
                   for c in resp.headers.getall("Set-Cookie"))
    token = tg.split(";")[0].split("=", 1)[1]
    assert [await _who(session, base, {"AWSALBTG": token}) for _ in range(12)] == [first] * 12
    unstuck = {await _who(session, base) for _ in range(30)}
    assert unstuck == {"blue", "green"}


async def test_a_target_refusing_connections_is_skipped_for_a_while(
        start_albauth: StartAlbauth, echo_upstream: Any, session: aiohttp.ClientSession) -> None:
    targets = Targets()
    await targets.start(echo_upstream, "alive")
    dead = "http://127.0.0.1:1"
    base = await _albauth(start_albauth, {"app": {"targets": [dead, targets.urls["alive"]],
                                                  "unreachable_pause": 0.5}})
    statuses = []
    for _ in range(6):
        async with session.get(base + "/who") as resp:
            statuses.append(resp.status)
    assert statuses == [502, 200, 200, 200, 200, 200]  # one 502, then the dead target is paused
    await asyncio.sleep(0.6)
    statuses = []
    for _ in range(2):
        async with session.get(base + "/who") as resp:
            statuses.append(resp.status)
    assert 502 in statuses  # the pause is over: it is tried again


@pytest.mark.parametrize(("pairs", "reason"), [
    ({"stickiness.enabled": "true", "stickiness.type": "app_cookie",
      "stickiness.app_cookie.cookie_name": "SESSION"}, "not implemented yet"),
    ({"load_balancing.algorithm.type": "weighted_random"}, "weighted_random"),
    ({"load_balancing.algorithm.type": "fastest"}, "round_robin, least_outstanding_requests"),
    ({"stickiness.enabled": "true", "stickiness.lb_cookie.duration_seconds": "604801"}, "1-604800"),
    ({"stickiness.enabled": "yes"}, '"true" or "false"'),
    ({"slow_start.duration_seconds": "30"}, "slow start"),
    ({"deregistration_delay.timeout_seconds": "300"}, "nothing deregisters"),
    ({"health_check.whatever": "1"}, "not a target group attribute"),
])
def test_what_albauth_refuses_is_refused(pairs: dict[str, str], reason: str) -> None:
    doc = settings_doc(["http://127.0.0.1:1"])
    doc["albauth"]["target_groups"]["app"]["TargetGroupAttributes"] = attributes(**pairs)
    with pytest.raises(ConfigError) as info:
        load_doc(doc)
    assert "albauth.target_groups.app.TargetGroupAttributes" in str(info.value) and reason in str(info.value), str(
        info.value)
