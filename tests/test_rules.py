"""Listener rule matching with ALB's semantics (spec 7.1-7.2, checklist 57-62).

Most cases are a table: one condition, one request, matched or not. Conditions are built
from ALB-shaped YAML through the config loader, so what is tested is what a user writes.
A few end-to-end tests check what only a real listener knows (the TCP peer, the raw query).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from multidict import CIMultiDict

from albauth.config.model import Condition, FixedResponseAction, Rule
from albauth.rules import RequestFacts, RuleTable, host_for_rules, parse_query
from tests.support import address, proxy_settings, raw_http, settings_from_yaml


def condition(yaml_condition: str) -> tuple[Condition, ...]:
    """The parsed Conditions of one rule written as a YAML flow list."""
    settings = settings_from_yaml(f"""
        albauth: {{admin_listen: off}}
        listeners:
          - Port: 8080
            DefaultActions: [{{Type: fixed-response, FixedResponseConfig: {{StatusCode: "404"}}}}]
            Rules:
              - Priority: 1
                Conditions: {yaml_condition}
                Actions: [{{Type: fixed-response, FixedResponseConfig: {{StatusCode: "200"}}}}]
        """)
    return settings.listeners[0].rules[0].conditions


def request(*, host: str = "app.test", path: str = "/", method: str = "GET", query: str = "",
            headers: list[tuple[str, str]] | None = None, peer: str = "192.0.2.10") -> RequestFacts:
    """Facts as the listener takes them from a request (Host without port, decoded query)."""
    all_headers = CIMultiDict(headers or [])
    return RequestFacts(host=host_for_rules(host), path=path, method=method,
                        headers=lambda name: all_headers.getall(name, ()),
                        query=parse_query(query), peer=peer)


def rule(priority: int | None, conditions: tuple[Condition, ...], name: str) -> Rule:
    return Rule(priority, conditions, None, FixedResponseAction(200, "text/plain", name), name)


def matches(conditions: tuple[Condition, ...], facts: RequestFacts) -> bool:
    table = RuleTable([rule(1, conditions, "rule"), rule(None, (), "default")])
    matched = table.match(facts)
    assert matched is not None
    return matched.key == "rule"


def case(conditions: str, facts: RequestFacts, expected: bool, id: str) -> Any:
    return pytest.param(conditions, facts, expected, id=id)


HOST_CASES = [
    # checklist 59
    case("[{Field: host-header, Values: ['*.example.com']}]", request(host="a.example.com"), True,
         "wildcard-subdomain"),
    case("[{Field: host-header, Values: ['*.example.com']}]", request(host="A.EXAMPLE.COM"), True,
         "wildcard-is-case-insensitive"),
    case("[{Field: host-header, Values: ['*.example.com']}]", request(host="example.com"), False,
         "wildcard-needs-a-label-before-the-dot"),
    case("[{Field: host-header, Values: ['*.example.com']}]", request(host="a.b.example.com"), True,
         "star-spans-dots"),
    case("[{Field: host-header, Values: ['*.example.com']}]", request(host="a.example.com.evil.test"), False,
         "whole-value-must-match"),
    case("[{Field: host-header, Values: [App.Example.COM]}]", request(host="app.example.com"), True,
         "literal-is-case-insensitive"),
    case("[{Field: host-header, Values: [app.example.com]}]", request(host="app.example.com:8443"), True,
         "port-is-ignored"),
    case("[{Field: host-header, Values: ['*.example.com']}]", request(host="a.example.com:80"), True,
         "port-is-ignored-with-wildcard"),
    case("[{Field: host-header, Values: ['api?.example.com']}]", request(host="api1.example.com"), True,
         "question-mark-is-one-char"),
    case("[{Field: host-header, Values: ['api?.example.com']}]", request(host="api12.example.com"), False,
         "question-mark-is-exactly-one-char"),
    case("[{Field: host-header, Values: ['api?.example.com']}]", request(host="api.example.com"), False,
         "question-mark-is-not-zero-chars"),
    case("[{Field: host-header, HostHeaderConfig: {Values: [a.test, b.test]}}]", request(host="b.test"), True,
         "config-object-form-values-are-ored"),
]

PATH_CASES = [
    # checklist 58
    case("[{Field: path-pattern, Values: ['/API/*']}]", request(path="/api/x"), False, "case-sensitive"),
    case("[{Field: path-pattern, Values: ['/API/*']}]", request(path="/API/x"), True, "same-case-matches"),
    case("[{Field: path-pattern, Values: ['/api/*']}]", request(path="/api/v1/users/7"), True, "star-spans-slashes"),
    case("[{Field: path-pattern, Values: ['/api/*']}]", request(path="/api/"), True, "star-matches-nothing"),
    case("[{Field: path-pattern, Values: ['/api/*']}]", request(path="/api"), False, "slash-is-literal"),
    case("[{Field: path-pattern, Values: ['*.png']}]", request(path="/img/a/b.png"), True, "leading-star"),
    case("[{Field: path-pattern, Values: ['/v?/x']}]", request(path="/v2/x"), True, "question-mark-one-char"),
    case("[{Field: path-pattern, Values: ['/v?/x']}]", request(path="/v10/x"), False, "question-mark-only-one"),
    case("[{Field: path-pattern, Values: ['/v?/x']}]", request(path="/v//x"), True, "question-mark-can-be-slash"),
    case("[{Field: path-pattern, Values: ['/search']}]", request(path="/search", query="q=1"), True,
         "query-is-not-part-of-the-path"),
    case("[{Field: path-pattern, Values: ['*q=1*']}]", request(path="/search", query="q=1"), False,
         "pattern-never-sees-the-query"),
    case("[{Field: path-pattern, Values: ['/exact']}]", request(path="/exact/more"), False, "literal-is-whole"),
    case("[{Field: path-pattern, PathPatternConfig: {Values: ['/a/*', '/b/*']}}]", request(path="/b/1"), True,
         "config-object-values-are-ored"),
]

HEADER_CASES = [
    case("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: User-Agent, Values: ['*Mobile*']}}]",
         request(headers=[("User-Agent", "Mozilla/5.0 (iPhone) MOBILE Safari")]), True, "value-case-insensitive"),
    case("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: USER-AGENT, Values: ['*mobile*']}}]",
         request(headers=[("user-agent", "x Mobile y")]), True, "name-case-insensitive"),
    case("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-Env, Values: [staging]}}]",
         request(headers=[("X-Env", "production"), ("X-Env", "Staging")]), True, "repeated-instances-all-tried"),
    case("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-Env, Values: [staging]}}]",
         request(headers=[("X-Env", "production, staging")]), False, "value-is-whole-line-not-a-list-item"),
    case("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-Env, Values: [staging]}}]",
         request(headers=[("X-Other", "staging")]), False, "absent-header-never-matches"),
    case("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-Tenant, Values: ['t?', 'a*']}}]",
         request(headers=[("X-Tenant", "alpha")]), True, "values-are-ored"),
    case("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-Tenant, Values: ['t?']}}]",
         request(headers=[("X-Tenant", "t12")]), False, "question-mark-one-char"),
]

METHOD_CASES = [
    # checklist 60
    case("[{Field: http-request-method, HttpRequestMethodConfig: {Values: [GET]}}]", request(method="GET"), True,
         "exact"),
    case("[{Field: http-request-method, HttpRequestMethodConfig: {Values: [GET]}}]", request(method="get"), False,
         "case-sensitive"),
    case("[{Field: http-request-method, HttpRequestMethodConfig: {Values: [GET]}}]", request(method="GETX"), False,
         "no-prefix-match"),
    case("[{Field: http-request-method, HttpRequestMethodConfig: {Values: [GET, HEAD]}}]",
         request(method="HEAD"), True, "values-are-ored"),
    case("[{Field: http-request-method, HttpRequestMethodConfig: {Values: [CUSTOM-VERB_X]}}]",
         request(method="CUSTOM-VERB_X"), True, "custom-method"),
]

QUERY_CASES = [
    # checklist 61
    case("[{Field: query-string, QueryStringConfig: {Values: [{Key: version, Value: v1}]}}]",
         request(query="VERSION=V1"), True, "key-and-value-case-insensitive"),
    case("[{Field: query-string, QueryStringConfig: {Values: [{Key: version, Value: v1}]}}]",
         request(query="version=v2&other=v1"), False, "value-must-belong-to-the-key"),
    case("[{Field: query-string, QueryStringConfig: {Values: [{Value: '*example*'}]}}]",
         request(query="a=1&ref=www.example.com"), True, "keyless-matches-any-keys-value"),
    case("[{Field: query-string, QueryStringConfig: {Values: [{Value: '*example*'}]}}]",
         request(query="example=1"), False, "keyless-looks-at-values-not-keys"),
    case("[{Field: query-string, QueryStringConfig: {Values: [{Key: q, Value: hello world}]}}]",
         request(query="q=hello%20world"), True, "percent-decoded"),
    case("[{Field: query-string, QueryStringConfig: {Values: [{Key: 'a b', Value: 'x&y'}]}}]",
         request(query="a%20b=x%26y"), True, "key-percent-decoded"),
    case(r"[{Field: query-string, QueryStringConfig: {Values: [{Key: q, Value: 'a\*b'}]}}]",
         request(query="q=a*b"), True, "escaped-star-is-literal"),
    case(r"[{Field: query-string, QueryStringConfig: {Values: [{Key: q, Value: 'a\*b'}]}}]",
         request(query="q=axxb"), False, "escaped-star-is-not-a-wildcard"),
    case(r"[{Field: query-string, QueryStringConfig: {Values: [{Key: q, Value: 'a\?'}]}}]",
         request(query="q=a%3F"), True, "escaped-question-mark-decoded-value"),
    case(r"[{Field: query-string, QueryStringConfig: {Values: [{Key: q, Value: 'a\?'}]}}]",
         request(query="q=ab"), False, "escaped-question-mark-is-literal"),
    case("[{Field: query-string, QueryStringConfig: {Values: [{Key: 'v*', Value: '?'}]}}]",
         request(query="version=2"), True, "wildcards-in-key-and-value"),
    case("[{Field: query-string, QueryStringConfig: {Values: [{Key: a, Value: '1'}, {Key: b, Value: '2'}]}}]",
         request(query="b=2"), True, "pairs-are-ored"),
    case("[{Field: query-string, QueryStringConfig: {Values: [{Key: a, Value: '1'}]}}]",
         request(query=""), False, "no-query"),
    case("[{Field: query-string, QueryStringConfig: {Values: [{Key: a, Value: '1'}]}}, "
         "{Field: query-string, QueryStringConfig: {Values: [{Key: b, Value: '2'}]}}]",
         request(query="a=1"), False, "two-conditions-are-anded"),
]

SOURCE_IP_CASES = [
    # checklist 62 (the TCP peer; X-Forwarded-For is checked end to end below)
    case("[{Field: source-ip, SourceIpConfig: {Values: [10.0.0.0/8]}}]", request(peer="10.20.30.40"), True,
         "v4-inside"),
    case("[{Field: source-ip, SourceIpConfig: {Values: [10.0.0.0/8]}}]",
         request(peer="192.0.2.1", headers=[("X-Forwarded-For", "10.1.1.1")]), False, "ignores-x-forwarded-for"),
    case("[{Field: source-ip, SourceIpConfig: {Values: [10.0.0.0/8]}}]", request(peer="::ffff:10.0.0.7"), True,
         "v4-mapped-v6-peer"),
    case("[{Field: source-ip, SourceIpConfig: {Values: ['2001:db8::/32']}}]", request(peer="2001:db8:1::5"), True,
         "v6-inside"),
    case("[{Field: source-ip, SourceIpConfig: {Values: ['2001:db8::/32']}}]", request(peer="2001:db9::5"), False,
         "v6-outside"),
    case("[{Field: source-ip, SourceIpConfig: {Values: ['2001:db8::/32']}}]", request(peer="10.0.0.1"), False,
         "v4-peer-never-in-v6-block"),
    case("[{Field: source-ip, SourceIpConfig: {Values: [192.0.2.0/24, '::1/128']}}]", request(peer="::1"), True,
         "values-are-ored-v4-and-v6"),
    case("[{Field: source-ip, SourceIpConfig: {Values: [192.0.2.7/32]}}]", request(peer="192.0.2.8"), False,
         "host-route"),
]

COMBINED_CASES = [
    case("[{Field: host-header, Values: [a.test]}, {Field: path-pattern, Values: ['/x/*']}]",
         request(host="a.test", path="/x/1"), True, "all-conditions-hold"),
    case("[{Field: host-header, Values: [a.test]}, {Field: path-pattern, Values: ['/x/*']}]",
         request(host="b.test", path="/x/1"), False, "conditions-are-anded"),
    case("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-A, Values: ['1']}}, "
         "{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-A, Values: ['2']}}]",
         request(headers=[("X-A", "1"), ("X-A", "2")]), True, "one-condition-per-required-header-value"),
    case("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-A, Values: ['1']}}, "
         "{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-A, Values: ['2']}}]",
         request(headers=[("X-A", "1")]), False, "repeated-header-conditions-are-anded"),
]


@pytest.mark.parametrize(("conditions", "facts", "expected"), HOST_CASES)
def test_host_header_is_case_insensitive_with_wildcards_and_ignores_the_port(conditions: str, facts: RequestFacts,
                                                                            expected: bool) -> None:
    """Checklist 59."""
    assert matches(condition(conditions), facts) is expected


@pytest.mark.parametrize(("conditions", "facts", "expected"), PATH_CASES)
def test_path_pattern_is_case_sensitive_and_never_sees_the_query(conditions: str, facts: RequestFacts,
                                                                 expected: bool) -> None:
    """Checklist 58."""
    assert matches(condition(conditions), facts) is expected


@pytest.mark.parametrize(("conditions", "facts", "expected"), HEADER_CASES)
def test_http_header_values_are_case_insensitive_and_every_instance_is_tried(conditions: str,
                                                                             facts: RequestFacts,
                                                                             expected: bool) -> None:
    """Spec 7.2 http-header."""
    assert matches(condition(conditions), facts) is expected


@pytest.mark.parametrize(("conditions", "facts", "expected"), METHOD_CASES)
def test_http_request_method_is_exact_and_case_sensitive(conditions: str, facts: RequestFacts,
                                                         expected: bool) -> None:
    """Checklist 60."""
    assert matches(condition(conditions), facts) is expected


@pytest.mark.parametrize(("conditions", "facts", "expected"), QUERY_CASES)
def test_query_string_is_case_insensitive_and_percent_decoded(conditions: str, facts: RequestFacts,
                                                              expected: bool) -> None:
    """Checklist 61."""
    assert matches(condition(conditions), facts) is expected


@pytest.mark.parametrize(("conditions", "facts", "expected"), SOURCE_IP_CASES)
def test_source_ip_uses_the_tcp_peer(conditions: str, facts: RequestFacts, expected: bool) -> None:
    """Checklist 62."""
    assert matches(condition(conditions), facts) is expected


@pytest.mark.parametrize(("conditions", "facts", "expected"), COMBINED_CASES)
def test_values_are_ored_and_conditions_are_anded(conditions: str, facts: RequestFacts, expected: bool) -> None:
    """Spec 7.1."""
    assert matches(condition(conditions), facts) is expected


# --- Priority order and the default rule (checklist 57) --------------------------------

def test_rules_are_evaluated_by_ascending_priority_not_file_order() -> None:
    """Checklist 57: the lowest priority number that matches wins."""
    settings = settings_from_yaml("""
        albauth: {admin_listen: off}
        listeners:
          - Port: 8080
            DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "404"}}]
            Rules:
              - Priority: 30
                Conditions: [{Field: path-pattern, Values: ["/*"]}]
                Actions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "200", MessageBody: p30}}]
              - Priority: 5
                Conditions: [{Field: path-pattern, Values: ["/api/*"]}]
                Actions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "200", MessageBody: p5}}]
              - Priority: 10
                Conditions: [{Field: path-pattern, Values: ["/api/v1/*"]}]
                Actions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "200", MessageBody: p10}}]
        """)
    table = RuleTable(settings.listeners[0].rules)

    def body(path: str) -> str:
        matched = table.match(request(path=path))
        assert matched is not None and isinstance(matched.action, FixedResponseAction)
        return matched.action.body

    assert body("/api/v1/users") == "p5"
    assert body("/api/x") == "p5"
    assert body("/other") == "p30"


def test_default_rule_only_when_no_rule_matches() -> None:
    """Checklist 57: the default rule comes last whatever its place in the list."""
    table = RuleTable([rule(None, (), "default"), rule(2, condition("[{Field: path-pattern, Values: ['/a']}]"), "a"),
                       rule(1, condition("[{Field: path-pattern, Values: ['/b']}]"), "b")])
    assert [c.rule.key for c in table.rules] == ["b", "a", "default"]
    assert table.match(request(path="/a")).key == "a"  # type: ignore[union-attr]
    assert table.match(request(path="/zzz")).key == "default"  # type: ignore[union-attr]


def test_legacy_values_and_config_objects_route_the_same() -> None:
    """Spec 7.2: the legacy `Values` list and the `*Config` object are the same condition;
    describe-rules output carries both."""
    legacy = condition("[{Field: path-pattern, Values: ['/x/*']}, {Field: host-header, Values: [a.test]}]")
    modern = condition("[{Field: path-pattern, PathPatternConfig: {Values: ['/x/*']}}, "
                       "{Field: host-header, HostHeaderConfig: {Values: [a.test]}}]")
    both = condition("[{Field: path-pattern, Values: ['/x/*'], PathPatternConfig: {Values: ['/x/*']}}, "
                     "{Field: host-header, Values: [a.test], HostHeaderConfig: {Values: [a.test]}}]")
    assert legacy == modern == both


# --- End to end: what only a real listener knows ---------------------------------------

ROUTED_RULES = """
- Priority: 1
  Conditions: [{Field: http-request-method, HttpRequestMethodConfig: {Values: [OPTIONS]}}]
  Actions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "204", MessageBody: ""}}]
- Priority: 2
  Conditions: [{Field: source-ip, SourceIpConfig: {Values: [10.0.0.0/8]}}]
  Actions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "200", MessageBody: internal}}]
- Priority: 3
  Conditions: [{Field: source-ip, SourceIpConfig: {Values: [127.0.0.0/8]}},
               {Field: query-string, QueryStringConfig: {Values: [{Key: mode, Value: 'a\\*'}]}}]
  Actions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "200", MessageBody: loopback-literal-star}}]
"""
DEFAULT_BODY = json.dumps([{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200",
                                                                            "MessageBody": "default"}}])


@pytest.fixture
async def routed(start_albauth: Any) -> int:
    settings = proxy_settings({"app": ["http://127.0.0.1:1"]}, rules=ROUTED_RULES, default=DEFAULT_BODY)
    return address(await start_albauth(settings))[1]


async def get_body(port: int, target: str, method: str = "GET", extra: str = "") -> tuple[int, bytes]:
    status, _, body = await raw_http(port, f"{method} {target} HTTP/1.1\r\nHost: a.test\r\n{extra}"
                                           "Connection: close\r\n\r\n".encode())
    return status, body


async def test_source_ip_ignores_x_forwarded_for_end_to_end(routed: int) -> None:
    """Checklist 62: the peer is 127.0.0.1 whatever X-Forwarded-For claims."""
    assert await get_body(routed, "/", extra="X-Forwarded-For: 10.1.2.3\r\n") == (200, b"default")
    assert await get_body(routed, "/?mode=a*", extra="X-Forwarded-For: 10.1.2.3\r\n") == (
        200, b"loopback-literal-star")


async def test_query_string_escape_is_literal_end_to_end(routed: int) -> None:
    """Checklist 61: the raw query is percent-decoded before matching; `\\*` is a literal star."""
    assert await get_body(routed, "/?mode=A%2A") == (200, b"loopback-literal-star")
    assert await get_body(routed, "/?mode=abc") == (200, b"default")


async def test_options_rule_at_higher_priority_answers_preflights(routed: int) -> None:
    """Checklist 60: an OPTIONS rule ahead of the others lets preflights through untouched."""
    assert (await get_body(routed, "/api/x", method="OPTIONS"))[0] == 204
    assert await get_body(routed, "/api/x", method="GET") == (200, b"default")


async def test_custom_method_rule_matches_end_to_end(start_albauth: Any) -> None:
    """Spec 7.2: http-request-method takes custom method names (A-Z, '-', '_')."""
    settings = proxy_settings({"app": ["http://127.0.0.1:1"]}, default=DEFAULT_BODY, rules="""
        - Priority: 1
          Conditions: [{Field: http-request-method, HttpRequestMethodConfig: {Values: [CUSTOM-VERB]}}]
          Actions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "200", MessageBody: custom}}]
        """)
    port = address(await start_albauth(settings))[1]
    assert await get_body(port, "/", method="CUSTOM-VERB") == (200, b"custom")
    assert (await get_body(port, "/", method="GET"))[0] == 200  # the fast parser's case


async def test_a_custom_method_is_forwarded_to_the_target(start_albauth: Any) -> None:
    async def target(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")  # a target that takes any method
        body = json.dumps({"method": head.split(b" ", 1)[0].decode()}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(target, "127.0.0.1", 0)
    target_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    port = address(await start_albauth(proxy_settings({"app": [target_url]})))[1]
    status, _, body = await raw_http(port, b"PURGE-CACHE /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    server.close()
    assert status == 200 and json.loads(body)["method"] == "PURGE-CACHE"
    bad, _, _ = await raw_http(port, b"B@D / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert bad == 400  # not a method name: still ALB's 400
