"""Session cookie shards, mangled every way (cookie_strategies), sent to an authenticated
rule in `deny` and in `authenticate` mode.

Properties: never a 5xx (the upstream is healthy, so any would be albauth's own); nothing
reaches the upstream unless the request carried the real session, and what reaches it
carries that session's identity."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from albauth.devidp import DevIdP
from tests.alb.conftest import BIG_USER, Alb, StartAlb, Upstream, oidc_action

from .cookie_strategies import SHARD_NAMES, cookie_header, cookie_pairs
from .harness import Forwarded, fuzz_settings, header_value

# A session too big for one shard, so reordering and dropping shards mean something.
USER = BIG_USER


async def start(start_alb: StartAlb, idp: DevIdP, store: str) -> Alb:
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}
    deny = {"Priority": 1, "Conditions": [{"Field": "path-pattern", "Values": ["/deny*"]}],
            "Actions": [oidc_action(idp, OnUnauthenticatedRequest="deny"), forward]}
    return await start_alb(rules=[deny], albauth={"session": {"secrets": ["fuzz-secret-0123456789-abcdefghijklmn"],
                                                              "store": store}})


async def real_session(alb: Alb, upstream: Upstream) -> tuple[list[str], str]:
    """Log in: (the shard values in order, the identity the upstream saw)."""
    page = await alb.browser.login("https://app.test/", username=USER)
    assert page.status == 200
    identity = header_value(upstream.last, "x-amzn-oidc-identity")
    assert identity
    jar = alb.browser.cookies()
    return [jar[n] for n in SHARD_NAMES if n in jar], identity


def cookie_values(header: str) -> set[str]:
    return {part.partition("=")[2].strip().strip('"') for part in header.split(";")}


@dataclass
class LoggedIn:
    alb: Alb
    shards: list[str]  # the real session's shard values, in order
    identity: str  # what the upstream saw for it


@pytest.fixture(params=["cookie", "memory"])
async def logged_in(request: pytest.FixtureRequest, start_alb: StartAlb, idp: DevIdP,
                    upstream: Upstream) -> LoggedIn:
    alb = await start(start_alb, idp, request.param)
    shards, identity = await real_session(alb, upstream)
    assert len(shards) >= 2 or request.param == "memory"
    return LoggedIn(alb, shards, identity)


@fuzz_settings(60)
@given(data=st.data(), path=st.sampled_from(["/deny", "/app"]))
async def test_mangled_session_cookies_never_pass_or_crash(logged_in: LoggedIn, upstream: Upstream,
                                                           data: st.DataObject, path: str) -> None:
    header = cookie_header(data.draw(cookie_pairs(logged_in.shards), label="cookies"))
    seen = Forwarded(upstream)
    reply = await logged_in.alb.browser.get(f"https://app.test{path}", headers={"Cookie": header}, cookies=False)
    assert reply.status < 500, (reply.status, reply.body[:300])
    event(f"{path} -> {reply.status}")
    if not seen.records:
        expected = {401} if path == "/deny" else {302}
        assert reply.status in expected | {400}, (reply.status, reply.body[:300])
        return
    assert reply.status == 200
    # Forwarded: the request carried every real shard, and the upstream got that user.
    assert set(logged_in.shards) <= cookie_values(header), header[:300]
    assert [header_value(r, "x-amzn-oidc-identity") for r in seen.records] == [logged_in.identity]
