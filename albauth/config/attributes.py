"""ALB's load-balancer attributes (`LoadBalancerAttributes`, as in CloudFormation's
AWS::ElasticLoadBalancingV2::LoadBalancer): the ones that shape HTTP handling, each applied to
the albauth.proxy setting it names, and a refusal for the rest (an attribute accepted and not
applied would silently mean less)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any

from albauth.config.checker import Checker

_ITEM_KEYS = frozenset({"Key", "Value"})
_XFF_MODES = ("append", "preserve", "remove")


def _boolean(c: Checker, value: Any, path: str) -> bool | None:
    """CloudFormation gives attribute values as strings: "true" or "false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    c.issue(path, f'must be "true" or "false" (got {value!r})')
    return None


def _xff_mode(c: Checker, value: Any, path: str) -> str | None:
    if value in _XFF_MODES:
        return str(value)
    c.issue(path, f"must be one of {', '.join(_XFF_MODES)} (got {value!r})")
    return None


def _seconds(low: int, high: int) -> Callable[[Checker, Any, str], float | None]:
    def parse(c: Checker, value: Any, path: str) -> float | None:
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return float(value)
        c.issue(path, f"must be a whole number of seconds, {low}-{high} (got {value!r})")
        return None

    return parse


# ALB attribute -> (the albauth.proxy setting it sets, how its value reads). Ranges as ALB's API.
SUPPORTED: dict[str, tuple[str, Callable[[Checker, Any, str], Any]]] = {
    "routing.http.drop_invalid_header_fields.enabled": ("drop_invalid_header_fields", _boolean),
    "routing.http.xff_header_processing.mode": ("xff_mode", _xff_mode),
    "routing.http.xff_client_port.enabled": ("xff_client_port", _boolean),
    "routing.http.preserve_host_header.enabled": ("preserve_host_header", _boolean),
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": ("tls_version_and_cipher_headers", _boolean),
    "idle_timeout.timeout_seconds": ("idle_timeout", _seconds(1, 4000)),
    "client_keep_alive.seconds": ("client_keep_alive", _seconds(60, 604800)),
}


def attribute_items(c: Checker, raw: Any, path: str, known: Collection[str],
                    unknown: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, Key, item) for each `{Key, Value}` entry whose Key is known, once each; an
    unknown Key is reported as `unknown` says, never ignored."""
    seen: dict[str, str] = {}
    for i, item in enumerate(c.list_of(raw, path)):
        ip = f"{path}[{i}]"
        if not c.mapping(item, ip, known=_ITEM_KEYS):
            continue
        key = c.string(item.get("Key"), f"{ip}.Key", required=True)
        if key is None:
            continue
        if key not in known:
            c.issue(f"{ip}.Key", f"{key!r} {unknown} (albauth applies: {', '.join(sorted(known))})")
            continue
        if key in seen:
            c.issue(f"{ip}.Key", f"given twice (also at {seen[key]})")
        seen[key] = ip
        yield ip, key, item


def parse_load_balancer_attributes(c: Checker, raw: Any, path: str) -> dict[str, Any]:
    """The proxy settings the attributes set, by setting name."""
    out: dict[str, Any] = {}
    for ip, key, item in attribute_items(c, raw, path, SUPPORTED, "is not supported"):
        setting, read = SUPPORTED[key]
        value = read(c, item.get("Value"), f"{ip}.Value")
        if value is not None:
            out[setting] = value
    return out
