"""Rule `Transforms` (host-header-rewrite, url-rewrite), over real HTTP to an echo target: the
examples of AWS's "Transforms for listener rules", ALB's no-match and failure rules, and the
rewritten path normalized again (albauth.paths)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from albauth.config.errors import ConfigError
from tests.support import address, raw_http

from .helpers import StartAlbauth, fixed, load_doc, settings_doc


def _host(regex: str, replace: str) -> dict[str, Any]:
    return {"Type": "host-header-rewrite",
            "HostHeaderRewriteConfig": {"Rewrites": [{"Regex": regex, "Replace": replace}]}}


def _url(regex: str, replace: str) -> dict[str, Any]:
    return {"Type": "url-rewrite", "UrlRewriteConfig": {"Rewrites": [{"Regex": regex, "Replace": replace}]}}


AWS_HOST = _host("^mywebsite-(.+).com$", "internal.dev.$1.myweb.com")
AWS_URL = _url("^/dp/([A-Za-z0-9]+)/?$", "/product.php?id=$1")


def _rule(transforms: list[dict[str, Any]], path: str = "/*") -> dict[str, Any]:
    return {"Priority": 1, "Conditions": [{"Field": "path-pattern", "Values": [path]}],
            "Actions": [{"Type": "forward", "TargetGroupArn": "app"}], "Transforms": transforms}


async def _start(start_albauth: StartAlbauth, echo_upstream: Any, transforms: list[dict[str, Any]],
                 path: str = "/*") -> int:
    upstream = await echo_upstream()
    listener = {"albauth": {"address": "127.0.0.1", "trust_forwarded_proto": True},
                "Rules": [_rule(transforms, path)], "DefaultActions": fixed("default")}
    return address(await start_albauth(load_doc(settings_doc([str(upstream.make_url(""))], listener=listener))))[1]


async def _send(port: int, target: str, host: str = "a.test") -> tuple[int, dict[str, Any] | str]:
    """(status, what the echo target saw, or the body when albauth answered itself)."""
    status, _, body = await raw_http(port, f"GET {target} HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-Proto: https\r\n"
                                           "X-Forwarded-Port: 443\r\nConnection: close\r\n\r\n".encode())
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode()


def _header(seen: dict[str, Any] | str, name: str) -> str:
    assert isinstance(seen, dict), seen
    return next(str(v) for k, v in seen["headers"] if k.lower() == name)


def _target(seen: dict[str, Any] | str) -> str:
    assert isinstance(seen, dict), seen
    return str(seen["path_qs"]) if "path_qs" in seen else str(seen["path"]) + (
        "?" + seen["query"] if seen.get("query") else "")


@pytest.mark.parametrize(("transforms", "host", "target", "want_host", "want_target"), [
    ([AWS_HOST], "mywebsite-example.com", "/project-a", "internal.dev.example.myweb.com", "/project-a"),
    ([AWS_HOST], "other.example.org", "/project-a", "other.example.org", "/project-a"),  # no match: as sent
    ([AWS_URL], "a.test", "/dp/B09G3HRMVB", "a.test", "/product.php?id=B09G3HRMVB"),
    ([AWS_URL], "a.test", "/dp/B09G3HRMVB/", "a.test", "/product.php?id=B09G3HRMVB"),
    ([AWS_URL], "a.test", "/cart", "a.test", "/cart"),
    ([AWS_HOST, AWS_URL], "mywebsite-shop.com", "/dp/X1", "internal.dev.shop.myweb.com", "/product.php?id=X1"),
    ([_url("^/api/v1/(.*)$", "/v2/$1")], "a.test", "/api/v1/users?page=2", "a.test", "/v2/users?page=2"),
    ([_url("/old/", "/new/")], "a.test", "/a/old/b/old/c", "a.test", "/a/new/b/old/c"),  # the first match
    # the rewritten URL is normalized again: the target never gets a dot segment
    ([_url("^/x/(.*)$", "/public/../$1")], "a.test", "/x/admin", "a.test", "/admin"),
    ([_url("^/x/(.*)$", "/a//%7Eb/$1")], "a.test", "/x/c", "a.test", "/a/~b/c"),
])
async def test_transform_rewrites_what_the_target_receives(
        start_albauth: StartAlbauth, echo_upstream: Any, transforms: list[dict[str, Any]], host: str, target: str,
        want_host: str, want_target: str) -> None:
    port = await _start(start_albauth, echo_upstream, transforms)
    status, seen = await _send(port, target, host)
    assert status == 200
    assert (_header(seen, "host"), _target(seen)) == (want_host, want_target)


async def test_rules_match_the_request_as_sent(start_albauth: StartAlbauth, echo_upstream: Any) -> None:
    """Rewriting does not change the routing decision: the rule matched `/dp/*` although the
    target is asked for /product.php."""
    port = await _start(start_albauth, echo_upstream, [AWS_URL], path="/dp/*")
    assert _target((await _send(port, "/dp/A1"))[1]) == "/product.php?id=A1"
    assert (await _send(port, "/product.php?id=A1")) == (200, "default")


@pytest.mark.parametrize(("transforms", "target"), [
    ([_url("^/x/(.*)$", "/a/%2F$1")], "/x/b"),  # an encoded slash: albauth.paths refuses it
    ([_url("^/x/(.*)$", "/../$1")], "/x/b"),  # climbs above the root
    ([_url("^/x/(.*)$", "$1")], "/x/b"),  # not a path
    ([_url("^/x/(.*)$", "/a b")], "/x/b"),
    ([_host("^(.*)$", "evil.test/x")], "/x/b"),
    ([_host("^(.*)$", "")], "/x/b"),
])
async def test_a_transform_that_matches_and_fails_is_500(start_albauth: StartAlbauth, echo_upstream: Any,
                                                         transforms: list[dict[str, Any]], target: str) -> None:
    """ALB: "If there is a pattern match but the transform fails, we return an HTTP 500 error.\""""
    port = await _start(start_albauth, echo_upstream, transforms)
    status, body = await _send(port, target)
    assert status == 500 and "500 Internal Server Error" in str(body)


async def test_hostile_path_against_catastrophic_rewrite_is_fast(start_albauth: StartAlbauth,
                                                                 echo_upstream: Any) -> None:
    port = await _start(start_albauth, echo_upstream, [_url(r"^/(a+)+$", "/matched")])
    started = time.perf_counter()
    status, seen = await _send(port, "/" + "a" * 8000 + "!")  # the echo target reads up to 8 KB lines
    assert status == 200 and time.perf_counter() - started < 0.5
    assert _target(seen).endswith("!")


def _refusal(rule: dict[str, Any], *, default: bool = False) -> str:
    listener: dict[str, Any] = {"Rules": [rule]}
    if default:
        listener = {"Rules": [{**rule, "Priority": "default", "IsDefault": True, "Conditions": []}]}
        listener["DefaultActions"] = None
    doc = settings_doc(["http://127.0.0.1:1"], listener=listener)
    if default:
        del doc["listeners"][0]["DefaultActions"]
    with pytest.raises(ConfigError) as info:
        load_doc(doc)
    return str(info.value)


@pytest.mark.parametrize(("rule", "where", "reason"), [
    (_rule([AWS_URL, _url("a", "b")]), "Transforms[1].Type", "one url-rewrite"),
    (_rule([_url("^/(?=x)", "/y")]), "Transforms[0].UrlRewriteConfig.Rewrites[0].Regex", "lookarounds"),
    (_rule([_url("^/" + "a" * 1024, "/y")]), "Transforms[0].UrlRewriteConfig.Rewrites[0].Regex", "1024"),
    (_rule([_url("^/a", "/" + "b" * 1024)]), "Transforms[0].UrlRewriteConfig.Rewrites[0].Replace", "1024"),
    (_rule([{"Type": "url-rewrite", "UrlRewriteConfig": {"Rewrites": [
        {"Regex": "a", "Replace": "b"}, {"Regex": "c", "Replace": "d"}]}}]),
     "Transforms[0].UrlRewriteConfig.Rewrites", "one RewriteConfig"),
    (_rule([{"Type": "path-rewrite"}]), "Transforms[0].Type", "host-header-rewrite or url-rewrite"),
    ({**_rule([AWS_URL]), "Actions": fixed("x")}, "Transforms", "forwarded requests only"),
])
def test_what_alb_refuses_is_refused(rule: dict[str, Any], where: str, reason: str) -> None:
    message = _refusal(rule)
    assert f"Rules[0].{where}" in message and reason in message, message


def test_no_transform_on_the_default_rule() -> None:
    message = _refusal(_rule([AWS_URL]), default=True)
    assert "Rules[0].Transforms" in message and "default rule" in message, message
