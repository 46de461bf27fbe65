"""Parsing and validation of a rule's `Conditions` (ELBv2 API / CloudFormation shapes, spec 7.2)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from albauth.config.checker import Checker
from albauth.config.model import (
    Condition,
    HostHeaderCondition,
    HttpHeaderCondition,
    HttpRequestMethodCondition,
    PathPatternCondition,
    QueryStringCondition,
    SourceIpCondition,
)
from albauth.regex import RegexRefused, compile_alb_regex

MAX_CONDITION_VALUES = 5  # per rule (ALB quota)
MAX_REGEX_VALUES = 3  # "up to three match evaluations per condition" (ALB's condition basics)
MAX_REGEX_LENGTH = 128  # RegexValues.member.N: "The maximum length of each string is 128 characters"
_METHOD = re.compile(r"^[A-Z_-]{1,40}$")
# Each Field's own *Config object.
_CONFIG_KEY = {
    "host-header": "HostHeaderConfig",
    "path-pattern": "PathPatternConfig",
    "http-header": "HttpHeaderConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "query-string": "QueryStringConfig",
    "source-ip": "SourceIpConfig",
}
FIELDS = tuple(_CONFIG_KEY)
# The keys ALB's API / CloudFormation define for each object; anything else is reported.
_CONDITION_KEYS = frozenset({"Field", "Values", "RegexValues", *_CONFIG_KEY.values()})
_VALUES_KEYS = frozenset({"Values"})
# host-header, path-pattern and http-header take either Values or RegexValues.
_REGEX_FIELDS = ("host-header", "path-pattern", "http-header")
_MATCH_KEYS = frozenset({"Values", "RegexValues"})
_HEADER_KEYS = frozenset({"HttpHeaderName", "Values", "RegexValues"})
_QUERY_PAIR_KEYS = frozenset({"Key", "Value"})


def parse_conditions(c: Checker, raw: Any, path: str) -> tuple[Condition, ...]:
    items = c.list_of(raw, path)
    out: list[Condition] = []
    singletons: dict[str, str] = {}
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        if not c.mapping(item, p, known=_CONDITION_KEYS):
            continue
        field = item.get("Field")
        if not isinstance(field, str) or field not in _CONFIG_KEY:  # a list or mapping is unhashable
            c.issue(f"{p}.Field", f"must be one of {', '.join(FIELDS)} (got {field!r})")
            continue
        _check_singleton(c, field, p, singletons)
        _refuse_foreign_configs(c, field, item, p)
        cond = _parse_condition(c, field, item, p)
        if cond is not None:
            out.append(cond)
    total_values = sum(_value_count(cond) for cond in out)
    if total_values > MAX_CONDITION_VALUES:
        c.issue(path, f"a rule may have at most {MAX_CONDITION_VALUES} condition values in all "
                      f"(ALB quota); this one has {total_values}")
    return tuple(out)


def _check_singleton(c: Checker, field: str, p: str, singletons: dict[str, str]) -> None:
    """Spec 7.2: one condition of each Field per rule, except http-header and query-string."""
    if field in ("http-header", "query-string"):
        return
    if field in singletons:
        c.issue(p, f"ALB allows at most one {field} condition per rule (another is at {singletons[field]})")
    singletons[field] = p


def _refuse_foreign_configs(c: Checker, field: str, item: dict[str, Any], p: str) -> None:
    """A *Config object of another Field would be ignored, and the rule would match more than
    written (a PathPatternConfig on a host-header condition restricts nothing)."""
    own = _CONFIG_KEY[field]
    for other_field, key in _CONFIG_KEY.items():
        if key != own and key in item:
            c.issue(f"{p}.{key}", f"belongs to a {other_field} condition, and this one's Field is {field} "
                                  f"(give {own}, or make it a condition of its own)")
    if "Values" in item and field in ("http-header", "query-string") and item["Values"]:
        c.issue(f"{p}.Values", f"the legacy Values list is for host-header and path-pattern; a {field} "
                               f"condition takes its values in {own}")
    elif own in item and "Values" in item and isinstance(item[own], dict) and item["Values"] != item[own].get(
            "Values"):
        # describe-rules returns both forms with the same values; differing ones are ambiguous.
        c.issue(f"{p}.Values", f"differs from {own}.Values: give the values once")
    if item.get("RegexValues") is not None:
        if field not in _REGEX_FIELDS:
            c.issue(f"{p}.RegexValues", f"a {field} condition has no regular expression matching "
                                        "(ALB: host-header, path-pattern and http-header only)")
        elif isinstance(item.get(own), dict) and item[own].get("RegexValues") not in (None, item["RegexValues"]):
            c.issue(f"{p}.RegexValues", f"differs from {own}.RegexValues: give the expressions once")


def _value_count(cond: Condition) -> int:
    if isinstance(cond, QueryStringCondition):
        return len(cond.pairs)
    if isinstance(cond, SourceIpCondition):
        return len(cond.networks)
    if isinstance(cond, HostHeaderCondition | PathPatternCondition | HttpHeaderCondition):
        return len(cond.values) + len(cond.regex_values)
    return len(cond.values)


def _parse_condition(c: Checker, field: str, item: dict[str, Any], p: str) -> Condition | None:
    if field == "http-header":
        return _http_header_condition(c, item, p)
    if field == "query-string":
        return _query_string_condition(c, item, p)
    if field in _REGEX_FIELDS:
        regexes = _regex_values(c, item.get(_CONFIG_KEY[field]), item, p)
        if regexes is not None:
            if field == "host-header":
                return HostHeaderCondition((), regexes)
            return PathPatternCondition((), regexes)
    raw_values, vp = _values(c, item, field, p)
    values = [c.string(v, f"{vp}[{i}]", required=True) or "" for i, v in enumerate(raw_values)]
    if field == "host-header":
        _check_lengths(c, values, vp, 128)
        return HostHeaderCondition(tuple(values))
    if field == "path-pattern":
        _check_lengths(c, values, vp, 128)
        return PathPatternCondition(tuple(values))
    if field == "http-request-method":
        return _method_condition(c, values, vp)
    return _source_ip_condition(c, values, vp)


def _values(c: Checker, item: dict[str, Any], field: str, p: str) -> tuple[list[Any], str]:
    key = _CONFIG_KEY[field]
    cfg = item.get(key)
    if cfg is not None:
        if not c.mapping(cfg, f"{p}.{key}", known=_MATCH_KEYS if field in _REGEX_FIELDS else _VALUES_KEYS):
            return [], p
        vp = f"{p}.{key}.Values"
        return c.list_of(cfg.get("Values"), vp, required=True), vp
    if "Values" in item:  # the legacy form: {"Field": ..., "Values": [...]}
        return c.list_of(item["Values"], f"{p}.Values", required=True), f"{p}.Values"
    c.issue(p, f"needs {key} (or the legacy Values list)")
    return [], p


def _http_header_condition(c: Checker, item: dict[str, Any], p: str) -> HttpHeaderCondition | None:
    cfg = item.get("HttpHeaderConfig")
    cp = f"{p}.HttpHeaderConfig"
    if not c.mapping(cfg, cp, required=True, known=_HEADER_KEYS):
        return None
    name = c.string(cfg.get("HttpHeaderName"), f"{cp}.HttpHeaderName", required=True)
    if name:
        if len(name) > 40 or "*" in name or "?" in name:
            c.issue(f"{cp}.HttpHeaderName", "must be at most 40 characters, without wildcards")
        if name.lower() == "host":
            c.issue(f"{cp}.HttpHeaderName", "cannot be Host: use a host-header condition")
    regexes = _regex_values(c, cfg, item, p)
    if regexes is not None:
        return HttpHeaderCondition(name or "", (), regexes)
    header_values = [c.string(v, f"{cp}.Values[{i}]", required=True) or "" for i, v in
                     enumerate(c.list_of(cfg.get("Values"), f"{cp}.Values", required=True))]
    _check_lengths(c, header_values, f"{cp}.Values", 128)
    return HttpHeaderCondition(name or "", tuple(header_values))


def _regex_values(c: Checker, cfg: Any, item: dict[str, Any], p: str) -> tuple[str, ...] | None:
    """The condition's RegexValues, each compiled once here to refuse what ALB refuses; None
    when it has none (its Values apply). CloudFormation also puts RegexValues on the condition
    itself, beside the legacy Values."""
    field = item.get("Field")
    key = _CONFIG_KEY[field] if field in _CONFIG_KEY else ""
    if isinstance(cfg, dict) and cfg.get("RegexValues") is not None:
        raw, rp, values = cfg["RegexValues"], f"{p}.{key}.RegexValues", cfg.get("Values")
    elif item.get("RegexValues") is not None:
        raw, rp, values = item["RegexValues"], f"{p}.RegexValues", item.get("Values")
    else:
        return None
    if values:
        c.issue(rp, "give either Values or RegexValues, not both (ALB matches one way per condition)")
    patterns = [c.string(v, f"{rp}[{i}]", required=True) or "" for i, v in
                enumerate(c.list_of(raw, rp, required=True))]
    if not patterns:
        c.issue(rp, "needs at least one regular expression")
    if len(patterns) > MAX_REGEX_VALUES:
        c.issue(rp, f"ALB allows at most {MAX_REGEX_VALUES} match evaluations per condition "
                    f"(this one has {len(patterns)})")
    for i, pattern in enumerate(patterns):
        if len(pattern) > MAX_REGEX_LENGTH:
            c.issue(f"{rp}[{i}]", f"is longer than {MAX_REGEX_LENGTH} characters")
            continue
        try:
            compile_alb_regex(pattern)
        except RegexRefused as exc:
            c.issue(f"{rp}[{i}]", str(exc))
    return tuple(patterns)


def _query_string_condition(c: Checker, item: dict[str, Any], p: str) -> QueryStringCondition | None:
    cfg = item.get("QueryStringConfig")
    if not c.mapping(cfg, f"{p}.QueryStringConfig", required=True, known=_VALUES_KEYS):
        return None
    pairs = []
    for i, kv in enumerate(c.list_of(cfg.get("Values"), f"{p}.QueryStringConfig.Values", required=True)):
        kp = f"{p}.QueryStringConfig.Values[{i}]"
        if not c.mapping(kv, kp, known=_QUERY_PAIR_KEYS):
            continue
        key = c.string(kv.get("Key"), f"{kp}.Key")
        value = c.string(kv.get("Value"), f"{kp}.Value", required=True)
        pairs.append((key, value or ""))
    return QueryStringCondition(tuple(pairs))


def _method_condition(c: Checker, values: list[str], vp: str) -> HttpRequestMethodCondition:
    for i, v in enumerate(values):
        if not _METHOD.match(v):
            c.issue(f"{vp}[{i}]", f"{v!r} is not a method name: A-Z, '-' and '_' only, at most "
                                  "40 characters (matching is case-sensitive, so write GET, not get)")
    return HttpRequestMethodCondition(tuple(values))


def _source_ip_condition(c: Checker, values: list[str], vp: str) -> SourceIpCondition:
    nets = []
    for i, v in enumerate(values):
        try:
            net = ipaddress.ip_network(v, strict=False)
        except ValueError:
            c.issue(f"{vp}[{i}]", f"{v!r} is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32")
            continue
        if str(net) == "255.255.255.255/32":
            c.issue(f"{vp}[{i}]", "255.255.255.255/32 is not allowed")
        nets.append(net)
    return SourceIpCondition(tuple(nets))


def _check_lengths(c: Checker, values: list[str], path: str, limit: int) -> None:
    for i, v in enumerate(values):
        if v and len(v) > limit:
            c.issue(f"{path}[{i}]", f"is longer than {limit} characters")
        if v and (v.count("*") + v.count("?")) > 5:
            c.issue(f"{path}[{i}]", "ALB allows at most 5 wildcards in a value")
