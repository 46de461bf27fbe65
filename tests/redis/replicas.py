"""Two or more albauth runtimes sharing one private Redis, over real HTTP (helpers for the
test modules of this directory; the fixtures come from tests/alb)."""

from __future__ import annotations

from typing import Any

from tests.alb.conftest import SECRET, Alb, StartAlb, header
from tests.session.redis_fixtures import RedisServer

IDENTITY = ("x-amzn-oidc-identity", "x-amzn-oidc-accesstoken", "x-amzn-oidc-data")
ACCESS_TTL = 300  # the built-in provider's access-token lifetime


def redis_settings(srv: RedisServer, *, shared_keys: bool = False) -> dict[str, Any]:
    own: dict[str, Any] = {"session": {"store": "redis", "redis_url": srv.url, "secrets": [SECRET]}}
    if shared_keys:
        own["signing"] = {}  # no key file: the ring lives in Redis
    return own


async def start_replica(start_alb: StartAlb, srv: RedisServer, *, shared_keys: bool = False,
                        auth: dict[str, Any] | None = None) -> Alb:
    return await start_alb(albauth=redis_settings(srv, shared_keys=shared_keys), auth=auth)


def share_cookies(src: Alb, dst: Alb, host: str = "app.test") -> None:
    """The same browser, its next request balanced to another replica."""
    dst.browser.jar[host] = dict(src.browser.cookies(host))


def assert_forwarded_with_identity(record: dict[str, Any]) -> None:
    for name in IDENTITY:
        assert header(record, name), name
