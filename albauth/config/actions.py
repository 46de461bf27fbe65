"""Parsing and validation of a rule's `Actions` (ELBv2 API / CloudFormation shapes, spec 7.3):
their order, and the forward, fixed-response and redirect actions. The authenticate actions
are in `albauth.config.authenticate`."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from albauth.config.authenticate import parse_cognito, parse_oidc
from albauth.config.checker import Checker
from albauth.config.jwt_validation import parse_jwt_validation
from albauth.config.model import (
    AuthenticateConfig,
    FixedResponseAction,
    ForwardAction,
    JwtValidationConfig,
    RedirectAction,
    TerminalAction,
    WeightedTargetGroup,
)

TERMINAL_TYPES = ("forward", "fixed-response", "redirect")
AUTH_TYPES = ("authenticate-oidc", "authenticate-cognito")
JWT_TYPE = "jwt-validation"
FIXED_CONTENT_TYPES = ("text/plain", "text/css", "text/html", "application/javascript",
                       "application/json")
_ACTION_KEYS = frozenset({"Type", "Order", "TargetGroupArn", "ForwardConfig", "FixedResponseConfig",
                          "RedirectConfig", "AuthenticateOidcConfig", "AuthenticateCognitoConfig",
                          "JwtValidationConfig", "albauth"})
_FORWARD_KEYS = frozenset({"TargetGroups", "TargetGroupStickinessConfig"})
_STICKINESS_KEYS = frozenset({"Enabled", "DurationSeconds"})
_WEIGHTED_KEYS = frozenset({"TargetGroupArn", "Weight"})
_FIXED_KEYS = frozenset({"StatusCode", "ContentType", "MessageBody"})
_REDIRECT_KEYS = frozenset({"Protocol", "Port", "Host", "Path", "Query", "StatusCode"})

# (Order, position in the list, Type, the action object)
_Typed = tuple[int, int, str, dict[str, Any]]


class ParsedActions(NamedTuple):
    authenticate: AuthenticateConfig | None
    jwt_validation: JwtValidationConfig | None
    terminal: TerminalAction | None


def parse_actions(c: Checker, raw: Any, path: str, *, target_groups: dict[str, Any],
                  auth_allowed: bool) -> ParsedActions:
    typed = _typed_actions(c, raw, path)
    if typed is None:
        return ParsedActions(None, None, None)
    terminals = [t for t in typed if t[2] in TERMINAL_TYPES]
    checks = [t for t in typed if t[2] in AUTH_TYPES or t[2] == JWT_TYPE]
    if len(terminals) != 1 or typed[-1][2] not in TERMINAL_TYPES:
        c.issue(path, "a rule needs exactly one forward, redirect or fixed-response action, "
                      "and it must come last in Order")
        return ParsedActions(None, None, None)
    if len(checks) > 1:
        c.issue(path, "a rule may have at most one authenticate or jwt-validation action")
    auth = jwt = None
    if checks and checks[0][2] == JWT_TYPE:
        jwt = _jwt_validation(c, checks[0], path, auth_allowed)
    elif checks:
        auth = _authenticate(c, checks[0], path, auth_allowed)
    _, i, kind, item = terminals[0]
    p = f"{path}[{i}]"
    if kind == "forward":
        return ParsedActions(auth, jwt, _parse_forward(c, item, p, target_groups))
    if kind == "fixed-response":
        return ParsedActions(auth, jwt, _parse_fixed(c, item, p))
    return ParsedActions(auth, jwt, _parse_redirect(c, item, p))


def _typed_actions(c: Checker, raw: Any, path: str) -> list[_Typed] | None:
    """The actions sorted by Order (ALB runs them in Order, not list order); None when one is unusable."""
    items = c.list_of(raw, path, required=True)
    typed: list[_Typed] = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        if not c.mapping(item, p, known=_ACTION_KEYS):
            continue
        kind = item.get("Type")
        if kind not in (*TERMINAL_TYPES, *AUTH_TYPES, JWT_TYPE):
            c.issue(f"{p}.Type", f"must be one of {', '.join((*TERMINAL_TYPES, *AUTH_TYPES, JWT_TYPE))} "
                                 f"(got {kind!r})")
            continue
        order = c.integer(item.get("Order"), f"{p}.Order", 1, 50000)
        typed.append((order if order is not None else 50001 + i, i, kind, item))
    if not items or len(typed) != len(items):
        return None
    return sorted(typed)


def _authenticate(c: Checker, typed: _Typed, path: str, auth_allowed: bool) -> AuthenticateConfig | None:
    _, i, kind, item = typed
    p = f"{path}[{i}]"
    if not auth_allowed:
        _needs_https(c, f"{p}.Type", "authenticate")
    return parse_oidc(c, item, p) if kind == "authenticate-oidc" else parse_cognito(c, item, p)


def _jwt_validation(c: Checker, typed: _Typed, path: str, auth_allowed: bool) -> JwtValidationConfig | None:
    _, i, _, item = typed
    p = f"{path}[{i}]"
    if not auth_allowed:
        _needs_https(c, f"{p}.Type", "jwt-validation")
    return parse_jwt_validation(c, item, p)


def _needs_https(c: Checker, path: str, what: str) -> None:
    c.issue(path, f"ALB accepts {what} actions only on HTTPS listeners; make the listener HTTPS, or mark "
                  "it albauth.trust_forwarded_proto (behind a TLS proxy) or albauth.local_development "
                  "(loopback only)")


def _parse_forward(c: Checker, item: dict[str, Any], p: str,
                   target_groups: dict[str, Any]) -> ForwardAction | None:
    groups: list[WeightedTargetGroup] = []
    if item.get("ForwardConfig") is not None:
        weighted = _weighted_target_groups(c, item["ForwardConfig"], f"{p}.ForwardConfig", target_groups)
        if weighted is None:
            return None
        groups = weighted
        if item.get("TargetGroupArn") is not None:
            _check_agrees_with_forward_config(c, item["TargetGroupArn"], groups, p)
    else:
        name = c.string(item.get("TargetGroupArn"), f"{p}.TargetGroupArn", required=True)
        if name is not None:
            _check_target_group(c, name, f"{p}.TargetGroupArn", target_groups)
            groups.append(WeightedTargetGroup(name, 1))
    sticky = 0
    if isinstance(item.get("ForwardConfig"), dict):
        sticky = _group_stickiness(c, item["ForwardConfig"].get("TargetGroupStickinessConfig"),
                                   f"{p}.ForwardConfig.TargetGroupStickinessConfig")
    return ForwardAction(tuple(groups), sticky)


def _check_agrees_with_forward_config(c: Checker, raw: Any, groups: list[WeightedTargetGroup], p: str) -> None:
    """ELBv2 API: with both, ForwardConfig must name exactly the one target group TargetGroupArn names."""
    name = c.string(raw, f"{p}.TargetGroupArn")
    names = [g.name for g in groups]
    if name is not None and groups and names != [name]:
        c.issue(f"{p}.TargetGroupArn", f"given with ForwardConfig, which must then name exactly this one target "
                                       f"group, as ALB requires (ForwardConfig names {', '.join(names)})")


def _group_stickiness(c: Checker, raw: Any, sp: str) -> int:
    """TargetGroupStickinessConfig: seconds (1-604800) a client stays with its target group; 0: off."""
    if raw is None or not c.mapping(raw, sp, known=_STICKINESS_KEYS):
        return 0
    # Enabled defaults to false in the ELBv2 API.
    if not c.boolean(raw.get("Enabled", False), f"{sp}.Enabled"):
        return 0
    seconds = c.integer(raw.get("DurationSeconds"), f"{sp}.DurationSeconds", 1, 604800)
    if seconds is None:
        c.issue(f"{sp}.DurationSeconds", "is required with Enabled: true (1-604800 seconds)")
        return 0
    return seconds


def _weighted_target_groups(c: Checker, fc: Any, fp: str,
                            target_groups: dict[str, Any]) -> list[WeightedTargetGroup] | None:
    if not c.mapping(fc, fp, known=_FORWARD_KEYS):
        return None
    groups: list[WeightedTargetGroup] = []
    tgs = c.list_of(fc.get("TargetGroups"), f"{fp}.TargetGroups", required=True)
    if len(tgs) > 5:
        c.issue(f"{fp}.TargetGroups", "ALB allows at most 5 target groups per forward action")
    for i, tg in enumerate(tgs):
        tp = f"{fp}.TargetGroups[{i}]"
        if not c.mapping(tg, tp, known=_WEIGHTED_KEYS):
            continue
        name = c.string(tg.get("TargetGroupArn"), f"{tp}.TargetGroupArn", required=True)
        weight = c.integer(tg.get("Weight", 1), f"{tp}.Weight", 0, 999)
        if name is not None:
            _check_target_group(c, name, f"{tp}.TargetGroupArn", target_groups)
            groups.append(WeightedTargetGroup(name, 1 if weight is None else weight))
    if groups and sum(g.weight for g in groups) == 0:
        c.issue(f"{fp}.TargetGroups", "at least one target group needs a weight above 0")
    return groups


def _check_target_group(c: Checker, name: str, path: str, target_groups: dict[str, Any]) -> None:
    if name not in target_groups and not name.startswith(("http://", "https://")):
        known = ", ".join(sorted(target_groups)) or "none defined"
        c.issue(path, f"unknown target group {name!r}: define it under albauth.target_groups "
                      f"(known: {known}) or give a URL such as http://127.0.0.1:8080")


def _parse_fixed(c: Checker, item: dict[str, Any], p: str) -> FixedResponseAction | None:
    cfg = item.get("FixedResponseConfig")
    if not c.mapping(cfg, f"{p}.FixedResponseConfig", required=True, known=_FIXED_KEYS):
        return None
    status = c.string(cfg.get("StatusCode"), f"{p}.FixedResponseConfig.StatusCode", required=True)
    if status is not None and not re.fullmatch(r"[245]\d\d", status):
        c.issue(f"{p}.FixedResponseConfig.StatusCode", f"must match ^(2|4|5)\\d\\d$ (got {status!r})")
        status = None
    ctype = c.string(cfg.get("ContentType"), f"{p}.FixedResponseConfig.ContentType")
    if ctype is not None and ctype not in FIXED_CONTENT_TYPES:
        c.issue(f"{p}.FixedResponseConfig.ContentType", f"must be one of {', '.join(FIXED_CONTENT_TYPES)}")
    body = c.string(cfg.get("MessageBody", ""), f"{p}.FixedResponseConfig.MessageBody") or ""
    if len(body.encode()) > 1024:
        c.issue(f"{p}.FixedResponseConfig.MessageBody", "is longer than ALB's 1024 bytes")
    return FixedResponseAction(int(status) if status else 200, ctype, body)


def _parse_redirect(c: Checker, item: dict[str, Any], p: str) -> RedirectAction | None:
    cfg = item.get("RedirectConfig")
    rp = f"{p}.RedirectConfig"
    if not c.mapping(cfg, rp, required=True, known=_REDIRECT_KEYS):
        return None
    protocol = c.string(cfg.get("Protocol", "#{protocol}"), f"{rp}.Protocol") or "#{protocol}"
    if protocol not in ("HTTP", "HTTPS", "#{protocol}"):
        c.issue(f"{rp}.Protocol", "must be HTTP, HTTPS or #{protocol}")
    port = str(cfg.get("Port", "#{port}"))
    if port != "#{port}" and not (port.isdigit() and 1 <= int(port) <= 65535):
        c.issue(f"{rp}.Port", "must be 1-65535 or #{port}")
    host = c.string(cfg.get("Host", "#{host}"), f"{rp}.Host") or "#{host}"
    path = c.string(cfg.get("Path", "/#{path}"), f"{rp}.Path") or "/#{path}"
    if not path.startswith("/"):
        c.issue(f"{rp}.Path", "must start with /")
    query = c.string(cfg.get("Query", "#{query}"), f"{rp}.Query")
    query = "#{query}" if query is None else query
    if query.startswith("?") or len(query) > 128:
        c.issue(f"{rp}.Query", "must not start with ? and must be at most 128 characters")
    code = c.string(cfg.get("StatusCode"), f"{rp}.StatusCode", required=True)
    if code is not None and code not in ("HTTP_301", "HTTP_302"):
        c.issue(f"{rp}.StatusCode", "must be HTTP_301 or HTTP_302")
    if (protocol, port, host, path) == ("#{protocol}", "#{port}", "#{host}", "/#{path}"):
        c.issue(rp, "a redirect must change at least one of protocol, port, host or path "
                    "(it would loop otherwise)")
    return RedirectAction(protocol, port, host, path, query, 302 if code == "HTTP_302" else 301)
