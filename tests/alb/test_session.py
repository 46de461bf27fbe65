"""Spec 12, "Session" (items 34-41): ALB's sharded, sealed session cookies."""

from __future__ import annotations

import base64
import re
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from albauth.clock import FakeClock
from albauth.devidp import DevIdP

from .conftest import BIG_USER, START, Alb, StartAlb, Upstream, header, oidc_action

SHARD = re.compile(r"^AWSELBAuthSessionCookie-(\d)=")


def _shard_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if SHARD.match(line) and "Max-Age=0" not in line]


async def test_valid_session_is_forwarded_without_contacting_the_provider(alb: Alb, idp: DevIdP,
                                                                          upstream: Upstream) -> None:
    """Item 34."""
    await alb.browser.login()
    calls = len(idp.events)
    for _ in range(3):
        reply = await alb.browser.get("https://app.test/again")
        assert reply.status == 200
    assert len(idp.events) == calls
    for name in ("x-amzn-oidc-accesstoken", "x-amzn-oidc-identity", "x-amzn-oidc-data"):
        assert header(upstream.last, name)


async def test_shards_form_one_standard_base64_string_within_cookie_limits(start_alb: StartAlb) -> None:
    """Item 35: a large session spreads over several shards, each Set-Cookie line <= 4096 bytes."""
    alb = await start_alb()
    await alb.browser.login(username=BIG_USER)
    lines = _shard_lines(alb.browser.cookie_lines)
    assert 2 <= len(lines) <= 4
    assert all(len("Set-Cookie: " + line) <= 4096 for line in lines)
    values = [line.split(";")[0].split("=", 1)[1] for line in lines]
    assert all(not v.endswith("=") for v in values[:-1])
    joined = "".join(values)
    assert re.fullmatch(r"[A-Za-z0-9+/]+=*", joined)
    base64.b64decode(joined, validate=True)
    # The first shard is as full as ALB's (3,984 characters with the default name).
    assert len(values[0]) >= 3900


async def test_session_cookies_expire_in_7_days_whatever_the_session_timeout(start_alb: StartAlb) -> None:
    """Item 36."""
    alb = await start_alb(auth={"SessionTimeout": 60})
    await alb.browser.login()
    line = _shard_lines(alb.browser.cookie_lines)[0]
    match = re.search(r"Expires=([^;]+)", line)
    assert match is not None
    expires = match.group(1)
    assert abs(parsedate_to_datetime(expires).timestamp() - (START + 7 * 86400)) < 5
    assert "Max-Age=604800" in line and "HttpOnly" in line and "Path=/" in line


async def test_session_timeout_is_not_sliding(start_alb: StartAlb, clock: FakeClock) -> None:
    """Item 37: SessionTimeout=60, a request at t+61 goes back to the provider."""
    alb = await start_alb(auth={"SessionTimeout": 60})
    await alb.browser.login()
    clock.advance(59)
    assert (await alb.browser.get("https://app.test/")).status == 200
    clock.advance(2)
    reply = await alb.browser.get("https://app.test/")
    assert reply.status == 302 and "/authorize?" in reply.location


async def test_dropping_a_shard_invalidates_the_session(start_alb: StartAlb) -> None:
    """Item 38."""
    alb = await start_alb()
    await alb.browser.login(username=BIG_USER)
    assert "AWSELBAuthSessionCookie-1" in alb.browser.cookies()
    del alb.browser.cookies()["AWSELBAuthSessionCookie-1"]
    assert (await alb.browser.get("https://app.test/")).status == 302


async def test_cookie_for_one_session_cookie_name_is_refused_by_another(start_alb: StartAlb, idp: DevIdP,
                                                                        upstream: Upstream) -> None:
    """Item 39: also when renamed to the other rule's cookie name."""
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}

    def rule(prio: int, path: str, name: str) -> dict[str, Any]:
        return {"Priority": prio, "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": [path]}}],
                "Actions": [oidc_action(idp, SessionCookieName=name), forward]}

    alb = await start_alb(rules=[rule(1, "/a/*", "A"), rule(2, "/b/*", "B")])
    assert (await alb.browser.login("https://app.test/a/x")).status == 200
    jar = alb.browser.cookies()
    assert "A-0" in jar and "B-0" not in jar
    assert (await alb.browser.get("https://app.test/b/x")).status == 302
    jar["B-0"] = jar["A-0"]
    assert (await alb.browser.get("https://app.test/b/x")).status == 302


async def test_copied_cookie_keeps_working_after_the_app_deletes_it(alb: Alb) -> None:
    """Item 40: faithful mode; the cookie is self-contained."""
    await alb.browser.login()
    copy = dict(alb.browser.cookies())
    alb.browser.cookies().clear()  # the app expired the shards; the browser dropped them
    assert (await alb.browser.get("https://app.test/")).status == 302
    alb.browser.cookies().update(copy)
    assert (await alb.browser.get("https://app.test/")).status == 200


@pytest.mark.parametrize("path, status", [("/page", 302), ("/api/x", 401)])
async def test_one_tampered_byte_invalidates_the_session(start_alb: StartAlb, idp: DevIdP, path: str,
                                                         status: int) -> None:
    """Item 41: 302 under authenticate (/page), 401 under deny (/api/*); never a 500."""
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}
    alb = await start_alb(rules=[
        {"Priority": 1, "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
         "Actions": [oidc_action(idp, OnUnauthenticatedRequest="deny"), forward]}])
    await alb.browser.login()
    assert (await alb.browser.get(f"https://app.test{path}")).status == 200
    jar = alb.browser.cookies()
    value = jar["AWSELBAuthSessionCookie-0"]
    i = len(value) // 2
    jar["AWSELBAuthSessionCookie-0"] = value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1:]
    reply = await alb.browser.get(f"https://app.test{path}")
    assert reply.status == status
    assert reply.headers["Server"] == "awselb/2.0"


@pytest.mark.parametrize("value", ["", "%%%", "A" * 5000, "not base64 at all!", "AAAA"])
async def test_garbage_cookies_mean_log_in_again_never_500(alb: Alb, value: str) -> None:
    alb.browser.cookies()["AWSELBAuthSessionCookie-0"] = value
    reply = await alb.browser.get("https://app.test/")
    assert reply.status == 302


async def test_memory_store_logs_in_and_survives_requests(start_alb: StartAlb, upstream: Upstream) -> None:
    alb = await start_alb(albauth={"session": {"store": "memory", "secrets": ["m" * 40]}})
    assert (await alb.browser.login()).status == 200
    assert (await alb.browser.get("https://app.test/y")).status == 200
    assert header(upstream.last, "x-amzn-oidc-identity")
    # Only a short ticket travels in the cookie.
    assert len(alb.browser.cookies()["AWSELBAuthSessionCookie-0"]) < 200


async def test_session_secret_rotation_keeps_sessions(start_alb: StartAlb) -> None:
    old, new = "o" * 40, "n" * 40
    alb = await start_alb(albauth={"session": {"secrets": [old]}})
    await alb.browser.login()
    cookies = dict(alb.browser.cookies())
    rotated = await start_alb(albauth={"session": {"secrets": [new, old]}})
    rotated.browser.cookies().update(cookies)
    assert (await rotated.browser.get("https://app.test/")).status == 200
    gone = await start_alb(albauth={"session": {"secrets": [new]}})
    gone.browser.cookies().update(cookies)
    assert (await gone.browser.get("https://app.test/")).status == 302


@pytest.mark.parametrize(("origin", "same_site_none"), [(None, False), ("https://spa.example", True)])
async def test_session_cookies_carry_samesite_none_only_for_cors_requests(alb: Alb, origin: str | None,
                                                                         same_site_none: bool) -> None:
    """ALB adds SameSite=None "with CORS requests"; a request's Origin header is the sign of one."""
    first = await alb.browser.get("https://app.test/")
    callback = await alb.browser.sign_in(first.location)
    reply = await alb.browser.get(callback, headers={"Origin": origin} if origin else {})
    shards = [c for c in reply.set_cookies if c.startswith("AWSELBAuthSessionCookie-0=")]
    assert shards and all(("; SameSite=None" in c) is same_site_none for c in shards)
