"""Random request paths through `/admin*` -> authenticate and `/public/*` -> forward (default
forward), in front of the aiohttp target of tests/alb/test_path_targets.py, which routes on
the path as yarl resolves it (dot segments, also encoded ones; unreserved characters decoded).

Properties: never a 5xx; the target's admin route is never reached without a session; when
albauth does not refuse a path (400), its rule choice agrees with the target's own reading of
the path as sent (the reference); and what the target receives is already normal (sending it
again changes nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from yarl import URL

from albauth.devidp import DevIdP
from tests.alb.conftest import Alb, StartAlb
from tests.alb.test_path_targets import alb_in_front, outcome, route_of, send_raw, start_aiohttp

from .harness import fuzz_settings

SEGMENTS = [
    "admin", "public", "x", "", ".", "..", "%2e", "%2E%2e", ".%2e", "%2e.", "%61dmin", "adm%69n", "%61%64%6D%69%6E",
    "admin;x", ";x", "..;", "admin%3b", "%2f", "%2F", "%5c", "\\", "%00", "%", "%2", "%zz", "a%3bb", "~", "%7e",
    "ADMIN", "Admin", "admin%20", "%25", "%252e", "...", "é".encode().decode("latin-1"), "%C3%A9", "admin.",
    "*", "+", "@", ":", "!",
]
PATHS = st.tuples(st.sampled_from(["/", "//", "/./", "/../"]), st.lists(st.sampled_from(SEGMENTS), max_size=6),
                  st.sampled_from(["", "/", "?a=/../admin", "?", "#x"])).map(
    lambda t: t[0] + "/".join(t[1]) + t[2])


def reference_route(request_target: str) -> str:
    """The target's own route for the path as sent (yarl's resolution, slashes merged)."""
    path = URL(f"http://target{request_target.partition('?')[0].partition('#')[0]}").path
    while "//" in path:
        path = path.replace("//", "/")
    return route_of(path)


@pytest.fixture
async def alb(start_alb: StartAlb, idp: DevIdP, aiohttp_server: Any) -> Alb:
    return await alb_in_front(start_alb, idp, await start_aiohttp(aiohttp_server))


@fuzz_settings(80)
@given(request_target=PATHS)
async def test_random_paths_never_reach_admin_without_a_session(alb: Alb, idp: DevIdP, request_target: str) -> None:
    status, location, body = await send_raw(alb.port, request_target, tls=True)
    assert status < 500, (status, body[:300])
    seen = outcome(status, location, body, idp)  # fails on the target's admin route
    event("400" if seen == "400" else "login" if seen == "login" else "forwarded")
    if seen == "400":
        return
    expected = reference_route(request_target)
    if seen == "login":
        assert expected == "ADMIN", (request_target, expected)
        return
    assert status == 200 and expected != "ADMIN", (request_target, status, body)
    again = outcome(*await send_raw(alb.port, seen, tls=True), idp)
    assert again == seen, (request_target, seen, again)
