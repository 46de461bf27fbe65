"""`albauth.target_groups.<name>`: the targets (base URLs) and ALB's target group attributes,
`TargetGroupAttributes: [{Key, Value}]` as in CloudFormation's
AWS::ElasticLoadBalancingV2::TargetGroup. The attributes that shape HTTP handling are applied;
any other is refused with the reason."""

from __future__ import annotations

from typing import Any, Literal

from albauth.config.attributes import attribute_items
from albauth.config.checker import Checker
from albauth.config.model import TargetGroup

Algorithm = Literal["round_robin", "least_outstanding_requests"]
_GROUP_KEYS = frozenset({"targets", "TargetGroupAttributes", "unreachable_pause"})
_ALGORITHMS = ("round_robin", "least_outstanding_requests")
_LB_COOKIE_DEFAULT = 86400  # ALB: stickiness.lb_cookie.duration_seconds defaults to 1 day
_REFUSED = {
    "stickiness.app_cookie.cookie_name": "application-cookie stickiness (AWSALBAPP-*) is not implemented yet",
    "stickiness.app_cookie.duration_seconds": "application-cookie stickiness (AWSALBAPP-*) is not implemented yet",
    "load_balancing.algorithm.anomaly_mitigation": "anomaly mitigation needs ALB's anomaly detection, which "
                                                   "albauth has not",
    "slow_start.duration_seconds": "slow start is not implemented",
    "deregistration_delay.timeout_seconds": "albauth's targets are fixed at start: nothing deregisters",
    "load_balancing.cross_zone.enabled": "albauth has no availability zones",
    "lambda.multi_value_headers.enabled": "albauth's targets are HTTP servers, not Lambda functions",
}


def parse_target_groups(c: Checker, raw: Any) -> dict[str, TargetGroup]:
    out: dict[str, TargetGroup] = {}
    if not c.mapping(raw, "albauth.target_groups"):
        return out
    for name, spec in raw.items():
        p = f"albauth.target_groups.{name}"
        if isinstance(spec, str):
            spec = {"targets": [spec]}
        if not c.mapping(spec, p, known=_GROUP_KEYS):
            continue
        targets = [c.url(t, f"{p}.targets[{i}]", required=True)
                   for i, t in enumerate(c.list_of(spec.get("targets"), f"{p}.targets", required=True))]
        algorithm, sticky = _attributes(c, spec.get("TargetGroupAttributes"), f"{p}.TargetGroupAttributes")
        pause = c.number(spec.get("unreachable_pause", 10), f"{p}.unreachable_pause", 0, 3600)
        out[str(name)] = TargetGroup(str(name), tuple(t for t in targets if t), algorithm=algorithm,
                                     stickiness_seconds=sticky, unreachable_pause=10.0 if pause is None else pause)
    return out


_APPLIED = ("load_balancing.algorithm.type", "stickiness.enabled", "stickiness.type",
            "stickiness.lb_cookie.duration_seconds")


def _attributes(c: Checker, raw: Any, path: str) -> tuple[Algorithm, int]:
    """(load_balancing.algorithm.type, lb_cookie stickiness seconds or 0)."""
    values: dict[str, tuple[Any, str]] = {}
    for ip, key, item in attribute_items(c, raw, path, {*_APPLIED, *_REFUSED},
                                         "is not a target group attribute albauth applies"):
        if key in _REFUSED:
            c.issue(f"{ip}.Key", _REFUSED[key])
        else:
            values[key] = (item.get("Value"), f"{ip}.Value")
    return _algorithm(c, values), _stickiness(c, values, path)


def _algorithm(c: Checker, values: dict[str, tuple[Any, str]]) -> Algorithm:
    value, vp = values.get("load_balancing.algorithm.type", ("round_robin", ""))
    if value == "least_outstanding_requests":
        return "least_outstanding_requests"
    if value == "weighted_random":
        c.issue(vp, "weighted_random needs ALB's anomaly detection weights; albauth applies round_robin and "
                    "least_outstanding_requests")
    elif value != "round_robin":
        c.issue(vp, f"must be one of {', '.join(_ALGORITHMS)} (got {value!r})")
    return "round_robin"


def _stickiness(c: Checker, values: dict[str, tuple[Any, str]], path: str) -> int:
    enabled, ep = values.get("stickiness.enabled", ("false", path))
    kind, kp = values.get("stickiness.type", ("lb_cookie", path))
    seconds, sp = values.get("stickiness.lb_cookie.duration_seconds", (_LB_COOKIE_DEFAULT, path))
    if str(enabled).lower() not in ("true", "false"):
        c.issue(ep, f'must be "true" or "false" (got {enabled!r})')
        return 0
    if kind not in ("lb_cookie", "app_cookie", "source_ip", "source_ip_dest_ip", "source_ip_dest_ip_proto"):
        c.issue(kp, f"must be lb_cookie or app_cookie (got {kind!r})")
    elif kind != "lb_cookie":
        c.issue(kp, f"{kind} stickiness is not implemented yet (albauth applies lb_cookie)")
    duration = int(seconds) if str(seconds).isdigit() else -1
    if not 1 <= duration <= 604800:
        c.issue(sp, f"must be 1-604800 seconds (got {seconds!r})")
    return duration if str(enabled).lower() == "true" and kind == "lb_cookie" and duration > 0 else 0
