"""ALB's load-balancer attributes (`LoadBalancerAttributes`, as in CloudFormation's
AWS::ElasticLoadBalancingV2::LoadBalancer): the ones albauth applies, and a refusal for the rest
(an attribute accepted and not applied would silently mean less)."""

from __future__ import annotations

from typing import Any

from albauth.config.checker import Checker

# ALB attribute -> the albauth.proxy switch it sets.
SUPPORTED = {"routing.http.drop_invalid_header_fields.enabled": "drop_invalid_header_fields"}
_ITEM_KEYS = frozenset({"Key", "Value"})


def parse_load_balancer_attributes(c: Checker, raw: Any, path: str) -> dict[str, bool]:
    """The proxy switches the attributes set, by switch name."""
    out: dict[str, bool] = {}
    seen: dict[str, str] = {}
    for i, item in enumerate(c.list_of(raw, path)):
        ip = f"{path}[{i}]"
        if not c.mapping(item, ip, known=_ITEM_KEYS):
            continue
        key = c.string(item.get("Key"), f"{ip}.Key", required=True)
        if key is None:
            continue
        if key not in SUPPORTED:
            c.issue(f"{ip}.Key", f"{key!r} is not supported (albauth applies only: {', '.join(sorted(SUPPORTED))})")
            continue
        if key in seen:
            c.issue(f"{ip}.Key", f"given twice (also at {seen[key]})")
        seen[key] = ip
        value = _boolean_string(c, item.get("Value"), f"{ip}.Value")
        if value is not None:
            out[SUPPORTED[key]] = value
    return out


def _boolean_string(c: Checker, value: Any, path: str) -> bool | None:
    """CloudFormation gives attribute values as strings: "true" or "false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    c.issue(path, f'must be "true" or "false" (got {value!r})')
    return None
