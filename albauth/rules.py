"""Listener rule matching with ALB's semantics (spec 7.1-7.2).

Rules are compiled once at start: every pattern becomes either a literal comparison, a
compiled wildcard (albauth.wildcard) or, for RegexValues, an RE2 expression (albauth.regex),
all linear time, so matching a request costs a few string operations.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote_plus

from albauth.config.model import (
    Condition,
    HostHeaderCondition,
    HttpHeaderCondition,
    HttpRequestMethodCondition,
    PathPatternCondition,
    QueryStringCondition,
    Rule,
    SourceIpCondition,
)
from albauth.regex import compile_alb_regex
from albauth.wildcard import compile_glob, fold_case, has_wildcards


@dataclass(frozen=True)
class RequestFacts:
    """What rules look at, taken from a request once."""

    host: str  # Host header without the port, as sent
    path: str  # percent-decoded path, never the query
    method: str
    headers: Mapping[str, str] | Callable[[str], Sequence[str]]  # name -> all values
    query: Sequence[tuple[str, str]]  # percent-decoded (key, value) pairs, in order
    peer: str  # TCP peer address, never X-Forwarded-For
    # The Host header as sent, port included, for host-header RegexValues (ALB: a regex is how
    # a rule matches `example.com:8443`); None: the same as `host`.
    host_header: str | None = None


Matcher = Callable[[str], bool]


def _value_matcher(patterns: Sequence[str], *, ignore_case: bool, escapes: bool = False) -> Matcher:
    """Values of one condition, OR-ed: literals in a set, wildcard patterns compiled once.
    Case-insensitive conditions fold the value once and compare with folded patterns."""
    literals = set()
    globs = []
    for p in patterns:
        if ignore_case:
            p = fold_case(p)
        if has_wildcards(p) or (escapes and "\\" in p):  # escapes: the glob reads them
            globs.append(compile_glob(p, ignore_case=False, escapes=escapes))
        else:
            literals.add(p)

    def match(value: str) -> bool:
        probe = fold_case(value) if ignore_case else value
        return probe in literals or any(g(probe) for g in globs)

    return match


def _regex_matcher(patterns: Sequence[str]) -> Matcher:
    """RegexValues of one condition, OR-ed; each searched (unanchored, albauth.regex)."""
    regexes = [compile_alb_regex(p) for p in patterns]
    return lambda value: any(r.search(value) for r in regexes)


def _host_without_port(host: str) -> str:
    if host.startswith("["):  # [v6]:port
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


RequestTest = Callable[[RequestFacts], bool]


def _host_test(cond: HostHeaderCondition) -> RequestTest:
    if cond.regex_values:
        r = _regex_matcher(cond.regex_values)
        return lambda f: r(f.host if f.host_header is None else f.host_header)
    m = _value_matcher(cond.values, ignore_case=True)
    return lambda f: m(f.host)


def _path_test(cond: PathPatternCondition) -> RequestTest:
    m = _regex_matcher(cond.regex_values) if cond.regex_values else _value_matcher(cond.values, ignore_case=False)
    return lambda f: m(f.path)


def _method_test(cond: HttpRequestMethodCondition) -> RequestTest:
    methods = frozenset(cond.values)
    return lambda f: f.method in methods


def _header_test(cond: HttpHeaderCondition) -> RequestTest:
    m = _regex_matcher(cond.regex_values) if cond.regex_values else _value_matcher(cond.values, ignore_case=True)
    name = cond.name.lower()

    def header_test(f: RequestFacts) -> bool:
        getter = f.headers
        values = getter(name) if callable(getter) else (
            [getter[name]] if name in getter else [])
        # A repeated header: each instance is tried in order.
        return any(m(v) for v in values)

    return header_test


def _query_test(cond: QueryStringCondition) -> RequestTest:
    pairs = [
        (None if k is None else _value_matcher([k], ignore_case=True, escapes=True),
         _value_matcher([v], ignore_case=True, escapes=True))
        for k, v in cond.pairs
    ]

    def query_test(f: RequestFacts) -> bool:
        for key_m, value_m in pairs:
            for k, v in f.query:
                if (key_m is None or key_m(k)) and value_m(v):
                    return True
        return False

    return query_test


def _source_ip_test(cond: SourceIpCondition) -> RequestTest:
    nets = cond.networks

    def ip_test(f: RequestFacts) -> bool:
        try:
            addr = ipaddress.ip_address(f.peer)
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        return any(addr.version == n.version and addr in n for n in nets)

    return ip_test


def _compile_condition(cond: Condition) -> RequestTest:
    if isinstance(cond, HostHeaderCondition):
        return _host_test(cond)
    if isinstance(cond, PathPatternCondition):
        return _path_test(cond)
    if isinstance(cond, HttpRequestMethodCondition):
        return _method_test(cond)
    if isinstance(cond, HttpHeaderCondition):
        return _header_test(cond)
    if isinstance(cond, QueryStringCondition):
        return _query_test(cond)
    if isinstance(cond, SourceIpCondition):
        return _source_ip_test(cond)
    raise TypeError(f"unknown condition {cond!r}")


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    tests: tuple[RequestTest, ...]

    def matches(self, facts: RequestFacts) -> bool:
        # Conditions are AND-ed; the values inside one condition are OR-ed.
        for test in self.tests:
            if not test(facts):
                return False
        return True


class RuleTable:
    """A listener's rules in evaluation order; the default rule (no conditions) is last."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        ordered = sorted(rules, key=lambda r: (r.priority is None, r.priority or 0))
        self.rules = tuple(
            CompiledRule(r, tuple(_compile_condition(c) for c in r.conditions)) for r in ordered
        )
        self.needs_query = any(
            isinstance(c, QueryStringCondition) for r in ordered for c in r.conditions)

    def match(self, facts: RequestFacts) -> Rule | None:
        for compiled in self.rules:
            if compiled.matches(facts):
                return compiled.rule
        return None


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Percent-decoded (key, value) pairs in order; `a` alone is (a, "")."""
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((unquote_plus(k), unquote_plus(v)))
    return pairs


def host_for_rules(host_header: str | None) -> str:
    return _host_without_port(host_header or "")
