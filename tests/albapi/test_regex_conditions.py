"""RegexValues on host-header, path-pattern and http-header conditions (ALB's regex
matching), over real HTTP: which rule answers, what the configuration refuses, and that a
hostile path cannot stall the listener (RE2, albauth/regex.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from albauth.app import Runtime
from albauth.config.errors import ConfigError
from albauth.config.load import load_text
from albauth.config.model import HostHeaderCondition, HttpHeaderCondition, Settings
from tests.support import address, proxy_settings, raw_http


def _fixed(body: str) -> str:
    return json.dumps([{"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": "200", "ContentType": "text/plain", "MessageBody": body}}])


def _settings(condition: dict[str, Any]) -> Settings:
    rule = f"- Priority: 1\n  Conditions: [{json.dumps(condition)}]\n  Actions: {_fixed('rule')}\n"
    return proxy_settings({"app": ["http://127.0.0.1:1"]}, rules=rule, default=_fixed("default"))


async def _answer(port: int, path: str, headers: str = "Host: www.example.com\r\n") -> str:
    status, _, body = await raw_http(port, f"GET {path} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n".encode())
    assert status == 200
    return body.decode()


HOST = {"Field": "host-header", "HostHeaderConfig": {"RegexValues": [r"^(.+)\.example\.com$"]}}
HOST_PORT = {"Field": "host-header", "HostHeaderConfig": {"RegexValues": [r"^api\.example\.com:8443$"]}}
PATH = {"Field": "path-pattern", "PathPatternConfig": {"RegexValues": [r"^/api/v[0-9]+/users/[0-9]+$"]}}
PATH_SEARCH = {"Field": "path-pattern", "PathPatternConfig": {"RegexValues": [r"\.(jpg|png)$"]}}
CFN_TOP_LEVEL = {"Field": "path-pattern", "RegexValues": ["^/img/"]}
HEADER = {"Field": "http-header", "HttpHeaderConfig": {
    "HttpHeaderName": "User-Agent", "RegexValues": [r"(Mobile|Android|iPhone)"]}}

REPEATED = {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Device", "RegexValues": [r"^phone-\d$"]}}

CASES = [
    # (condition, path, request headers, rule that answers)
    (HOST, "/", "Host: shop.example.com\r\n", "rule"),
    (HOST, "/", "Host: example.com\r\n", "default"),
    (HOST, "/", "Host: shop.example.com.evil.test\r\n", "default"),
    (HOST_PORT, "/", "Host: api.example.com:8443\r\n", "rule"),  # the port is part of the value
    (HOST_PORT, "/", "Host: api.example.com\r\n", "default"),
    (PATH, "/api/v2/users/42", "Host: a.test\r\n", "rule"),
    (PATH, "/api/v2/users/42/orders", "Host: a.test\r\n", "default"),
    (PATH, "/api/vX/users/42", "Host: a.test\r\n", "default"),
    (PATH, "/api/v2/users/%34%32", "Host: a.test\r\n", "rule"),  # the decoded, normalized path
    (PATH, "/api/v2/x/../users/42", "Host: a.test\r\n", "rule"),
    (PATH_SEARCH, "/a/b/photo.png", "Host: a.test\r\n", "rule"),  # unanchored: a search
    (PATH_SEARCH, "/a/b/photo.png?x=1", "Host: a.test\r\n", "rule"),  # never the query
    (PATH_SEARCH, "/a/b/photo.gif", "Host: a.test\r\n", "default"),
    (CFN_TOP_LEVEL, "/img/x", "Host: a.test\r\n", "rule"),
    (HEADER, "/", "Host: a.test\r\nUser-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)\r\n", "rule"),
    (HEADER, "/", "Host: a.test\r\nUser-Agent: curl/8.0\r\n", "default"),
    (REPEATED, "/", "Host: a.test\r\nX-Device: tv\r\nX-Device: phone-3\r\n", "rule"),  # each instance tried
    (HEADER, "/", "Host: a.test\r\n", "default"),
]


@pytest.mark.parametrize(("condition", "path", "headers", "expected"), CASES)
async def test_regex_condition_routes(start_albauth: Callable[[Settings], Awaitable[Runtime]],
                                      condition: dict[str, Any], path: str, headers: str, expected: str) -> None:
    _, port = address(await start_albauth(_settings(condition)))
    assert await _answer(port, path, headers) == expected


def _refusal(condition: dict[str, Any]) -> str:
    rule = f"- Priority: 1\n  Conditions: [{json.dumps(condition)}]\n  Actions: {_fixed('rule')}\n"
    with pytest.raises(ConfigError) as info:
        proxy_settings({"app": ["http://127.0.0.1:1"]}, rules=rule)
    return str(info.value)


def _path(*patterns: str) -> dict[str, Any]:
    return {"Field": "path-pattern", "PathPatternConfig": {"RegexValues": list(patterns)}}


@pytest.mark.parametrize(("condition", "where", "reason"), [
    (_path(r"^/(?=admin)"), "PathPatternConfig.RegexValues[0]", "lookarounds"),
    (_path(r"^/(?<!x)a"), "PathPatternConfig.RegexValues[0]", "lookarounds"),
    (_path(r"^/(a)\1$"), "PathPatternConfig.RegexValues[0]", "backreferences"),
    (_path(r"^/(?>a+)b"), "PathPatternConfig.RegexValues[0]", "atomic groups"),
    (_path(r"^/a++b"), "PathPatternConfig.RegexValues[0]", "possessive"),
    (_path(r"^/(?R)?$"), "PathPatternConfig.RegexValues[0]", "recursion"),
    (_path(r"^/\p{L}+$"), "PathPatternConfig.RegexValues[0]", "Unicode"),
    (_path(r"^/\PL+$"), "PathPatternConfig.RegexValues[0]", "Unicode"),
    (_path("^/(unclosed"), "PathPatternConfig.RegexValues[0]", "missing"),
    (_path("/" + "a" * 128), "PathPatternConfig.RegexValues[0]", "128"),
    (_path("^/a", "^/b", "^/c", "^/d"), "PathPatternConfig.RegexValues", "at most 3"),
    (_path(), "PathPatternConfig.RegexValues", "at least one"),
    ({"Field": "path-pattern", "PathPatternConfig": {"Values": ["/a"], "RegexValues": ["^/a"]}},
     "PathPatternConfig.RegexValues", "either Values or RegexValues"),
    ({"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-A", "Values": ["a"], "RegexValues": ["a"]}},
     "HttpHeaderConfig.RegexValues", "either Values or RegexValues"),
    ({"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}, "RegexValues": ["G.*"]},
     "RegexValues", "no regular expression"),
    ({"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "a"}], "RegexValues": ["a"]}},
     "QueryStringConfig", "RegexValues"),
])
def test_what_alb_refuses_is_refused(condition: dict[str, Any], where: str, reason: str) -> None:
    message = _refusal(condition)
    assert f"Conditions[0].{where}" in message and reason in message, message


def test_regex_values_count_toward_five_per_rule() -> None:
    """ALB: at most five match evaluations per rule, whichever way they match."""
    message = _refusal_of_rule([_path("^/a", "^/b", "^/c"),
                                {"Field": "host-header", "HostHeaderConfig": {"RegexValues": ["a", "b", "c"]}}])
    assert "at most 5" in message and "has 6" in message


def _refusal_of_rule(conditions: list[dict[str, Any]]) -> str:
    rule = f"- Priority: 1\n  Conditions: {json.dumps(conditions)}\n  Actions: {_fixed('rule')}\n"
    with pytest.raises(ConfigError) as info:
        proxy_settings({"app": ["http://127.0.0.1:1"]}, rules=rule)
    return str(info.value)


NEAR_16K = 16 * 1024 - 64  # the request line and each header line are limited to 16 KB


@pytest.mark.parametrize("where", ["path", "header"])
async def test_hostile_value_against_catastrophic_pattern_is_fast(
        start_albauth: Callable[[Settings], Awaitable[Runtime]], where: str) -> None:
    """`^/(a+)+$` against `/aaaa...a!` is exponential for a backtracking engine (Python's `re`
    takes minutes at 40 characters); RE2 is linear, so a 16 KB value costs microseconds."""
    patterns = [r"^/(a+)+$", r"^/(a|aa)+$", r"^/(.*a){20}$"]
    condition = _path(*patterns) if where == "path" else {
        "Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Hostile", "RegexValues": patterns}}
    _, port = address(await start_albauth(_settings(condition)))
    hostile = "/" + "a" * NEAR_16K + "!"
    request = (hostile, "Host: a.test\r\n") if where == "path" else ("/", f"Host: a.test\r\nX-Hostile: {hostile}\r\n")
    started = time.perf_counter()
    assert await _answer(port, *request) == "default"
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"{elapsed:.3f} s for one request"
    matching = ("/" + "a" * NEAR_16K, "Host: a.test\r\n") if where == "path" else (
        "/", f"Host: a.test\r\nX-Hostile: /{'a' * NEAR_16K}\r\n")
    assert await _answer(port, *matching) == "rule"


def test_a_describe_rules_document_with_regex_values_loads() -> None:
    """describe-rules output: RegexValues inside the *Config object, Values absent."""
    doc = {
        "albauth": {"admin_listen": "off", "target_groups": {"app": {"targets": ["http://127.0.0.1:3000"]}}},
        "listeners": [{"Protocol": "HTTP", "Port": 8080, "albauth": {"address": "127.0.0.1"}, "Rules": [
            {"Priority": "5", "IsDefault": False, "Conditions": [
                {"Field": "host-header", "HostHeaderConfig": {"RegexValues": ["^api\\..*"]}},
                {"Field": "http-header",
                 "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "RegexValues": ["^(dev|qa)$"]}},
            ], "Actions": [{"Type": "forward", "TargetGroupArn": "app"}]},
            {"Priority": "default", "IsDefault": True, "Conditions": [],
             "Actions": [{"Type": "forward", "TargetGroupArn": "app"}]},
        ]}],
    }
    settings = load_text(json.dumps(doc), "describe-rules.json", {})
    host, header = settings.listeners[0].rules[0].conditions
    assert isinstance(host, HostHeaderCondition) and isinstance(header, HttpHeaderCondition)
    assert (host.regex_values, header.regex_values) == (("^api\\..*",), ("^(dev|qa)$",))
