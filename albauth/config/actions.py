"""Parsing and validation of ALB rule `Actions` and `Conditions` (ELBv2 API / CloudFormation shapes)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from albauth.config.checker import Checker
from albauth.config.model import (
    AuthenticateConfig,
    Condition,
    FixedResponseAction,
    ForwardAction,
    HostHeaderCondition,
    HttpHeaderCondition,
    HttpRequestMethodCondition,
    PathPatternCondition,
    QueryStringCondition,
    RedirectAction,
    SourceIpCondition,
    TerminalAction,
    WeightedTargetGroup,
)

TERMINAL_TYPES = ("forward", "fixed-response", "redirect")
AUTH_TYPES = ("authenticate-oidc", "authenticate-cognito")
FIXED_CONTENT_TYPES = ("text/plain", "text/css", "text/html", "application/javascript",
                       "application/json")
_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_EXTRA_PARAM_KEY = re.compile(r"^[a-zA-Z0-9]+$")
_METHOD = re.compile(r"^[A-Z_-]{1,40}$")
_COGNITO_ARN = re.compile(
    r"^arn:aws[a-z-]*:cognito-idp:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):userpool/(?P<pool>[a-z0-9-]+_[A-Za-z0-9]+)$")
# The keys ALB's API / CloudFormation define for each object; anything else is reported.
_CONDITION_KEYS = frozenset({"Field", "Values", "HostHeaderConfig", "PathPatternConfig", "HttpHeaderConfig",
                             "HttpRequestMethodConfig", "QueryStringConfig", "SourceIpConfig"})
_VALUES_KEYS = frozenset({"Values"})
_HEADER_KEYS = frozenset({"HttpHeaderName", "Values"})
_QUERY_PAIR_KEYS = frozenset({"Key", "Value"})
_ACTION_KEYS = frozenset({"Type", "Order", "TargetGroupArn", "ForwardConfig", "FixedResponseConfig",
                          "RedirectConfig", "AuthenticateOidcConfig", "AuthenticateCognitoConfig", "albauth"})
_FORWARD_KEYS = frozenset({"TargetGroups", "TargetGroupStickinessConfig"})
_WEIGHTED_KEYS = frozenset({"TargetGroupArn", "Weight"})
_FIXED_KEYS = frozenset({"StatusCode", "ContentType", "MessageBody"})
_REDIRECT_KEYS = frozenset({"Protocol", "Port", "Host", "Path", "Query", "StatusCode"})
_COMMON_AUTH_KEYS = frozenset({"SessionCookieName", "Scope", "SessionTimeout", "AuthenticationRequestExtraParams",
                               "OnUnauthenticatedRequest"})
_OIDC_KEYS = _COMMON_AUTH_KEYS | {"Issuer", "AuthorizationEndpoint", "TokenEndpoint", "UserInfoEndpoint",
                                  "ClientId", "ClientSecret", "UseExistingClientSecret"}
_COGNITO_KEYS = _COMMON_AUTH_KEYS | {"UserPoolArn", "UserPoolClientId", "UserPoolDomain"}
MAX_SESSION_TIMEOUT = 604800  # 7 days, ALB's default and maximum
MAX_CONDITION_VALUES = 5  # per rule (ALB quota)


# --- Conditions ------------------------------------------------------------------------

def parse_conditions(c: Checker, raw: Any, path: str) -> tuple[Condition, ...]:
    items = c.list_of(raw, path)
    out: list[Condition] = []
    singletons: dict[str, str] = {}
    total_values = 0
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        if not c.mapping(item, p, known=_CONDITION_KEYS):
            continue
        field = item.get("Field")
        if field not in ("host-header", "path-pattern", "http-header", "http-request-method",
                         "query-string", "source-ip"):
            c.issue(f"{p}.Field", f"must be one of host-header, path-pattern, http-header, "
                                  f"http-request-method, query-string, source-ip (got {field!r})")
            continue
        if field != "http-header" and field != "query-string":
            if field in singletons:
                c.issue(p, f"ALB allows at most one {field} condition per rule "
                           f"(another is at {singletons[field]})")
            singletons[field] = p
        cond = _parse_condition(c, field, item, p)
        if cond is not None:
            out.append(cond)
            total_values += len(getattr(cond, "values", getattr(cond, "pairs", getattr(cond, "networks", ()))))
    if total_values > MAX_CONDITION_VALUES:
        c.issue(path, f"a rule may have at most {MAX_CONDITION_VALUES} condition values in all "
                      f"(ALB quota); this one has {total_values}")
    return tuple(out)


_CONFIG_KEY = {
    "host-header": "HostHeaderConfig",
    "path-pattern": "PathPatternConfig",
    "http-header": "HttpHeaderConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "query-string": "QueryStringConfig",
    "source-ip": "SourceIpConfig",
}


def _values(c: Checker, item: dict[str, Any], field: str, p: str) -> tuple[list[Any], str]:
    key = _CONFIG_KEY[field]
    cfg = item.get(key)
    if cfg is not None:
        if not c.mapping(cfg, f"{p}.{key}", known=_VALUES_KEYS):
            return [], p
        vp = f"{p}.{key}.Values"
        return c.list_of(cfg.get("Values"), vp, required=True), vp
    if "Values" in item:  # the legacy form: {"Field": ..., "Values": [...]}
        return c.list_of(item["Values"], f"{p}.Values", required=True), f"{p}.Values"
    c.issue(p, f"needs {key} (or the legacy Values list)")
    return [], p


def _parse_condition(c: Checker, field: str, item: dict[str, Any], p: str) -> Condition | None:
    if field == "http-header":
        cfg = item.get("HttpHeaderConfig")
        if not c.mapping(cfg, f"{p}.HttpHeaderConfig", required=True, known=_HEADER_KEYS):
            return None
        name = c.string(cfg.get("HttpHeaderName"), f"{p}.HttpHeaderConfig.HttpHeaderName", required=True)
        header_values = [c.string(v, f"{p}.HttpHeaderConfig.Values[{i}]", required=True) or "" for i, v in
                         enumerate(c.list_of(cfg.get("Values"), f"{p}.HttpHeaderConfig.Values", required=True))]
        if name:
            if len(name) > 40 or "*" in name or "?" in name:
                c.issue(f"{p}.HttpHeaderConfig.HttpHeaderName", "must be at most 40 characters, without wildcards")
            if name.lower() == "host":
                c.issue(f"{p}.HttpHeaderConfig.HttpHeaderName", "cannot be Host: use a host-header condition")
        _check_lengths(c, header_values, f"{p}.HttpHeaderConfig.Values", 128)
        return HttpHeaderCondition(name or "", tuple(header_values))
    if field == "query-string":
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
    raw_values, vp = _values(c, item, field, p)
    values = [c.string(v, f"{vp}[{i}]", required=True) or "" for i, v in enumerate(raw_values)]
    if field == "host-header":
        _check_lengths(c, values, vp, 128)
        return HostHeaderCondition(tuple(values))
    if field == "path-pattern":
        _check_lengths(c, values, vp, 128)
        return PathPatternCondition(tuple(values))
    if field == "http-request-method":
        for i, v in enumerate(values):
            if not _METHOD.match(v):
                c.issue(f"{vp}[{i}]", f"{v!r} is not a method name: A-Z, '-' and '_' only, at most "
                                      "40 characters (matching is case-sensitive, so write GET, not get)")
        return HttpRequestMethodCondition(tuple(values))
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


# --- Actions ---------------------------------------------------------------------------

def parse_actions(c: Checker, raw: Any, path: str, *, target_groups: dict[str, Any],
                  auth_allowed: bool) -> tuple[AuthenticateConfig | None, TerminalAction | None]:
    items = c.list_of(raw, path, required=True)
    typed: list[tuple[int, int, str, dict[str, Any]]] = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        if not c.mapping(item, p, known=_ACTION_KEYS):
            continue
        kind = item.get("Type")
        if kind not in TERMINAL_TYPES + AUTH_TYPES:
            c.issue(f"{p}.Type", f"must be one of {', '.join(TERMINAL_TYPES + AUTH_TYPES)} (got {kind!r})")
            continue
        order = c.integer(item.get("Order"), f"{p}.Order", 1, 50000)
        typed.append((order if order is not None else 50001 + i, i, kind, item))
    if not items or len(typed) != len(items):
        return None, None
    typed.sort()
    terminals = [t for t in typed if t[2] in TERMINAL_TYPES]
    auths = [t for t in typed if t[2] in AUTH_TYPES]
    if len(terminals) != 1 or typed[-1][2] not in TERMINAL_TYPES:
        c.issue(path, "a rule needs exactly one forward, redirect or fixed-response action, "
                      "and it must come last in Order")
        return None, None
    if len(auths) > 1:
        c.issue(path, "a rule may have at most one authenticate action")
    auth = None
    if auths:
        _, i, kind, item = auths[0]
        p = f"{path}[{i}]"
        if not auth_allowed:
            c.issue(f"{p}.Type", "ALB accepts authenticate actions only on HTTPS listeners; make the "
                                 "listener HTTPS, or mark it albauth.trust_forwarded_proto (behind a TLS "
                                 "proxy) or albauth.local_development (loopback only)")
        auth = parse_oidc(c, item, p) if kind == "authenticate-oidc" else parse_cognito(c, item, p)
    _, i, kind, item = terminals[0]
    p = f"{path}[{i}]"
    if kind == "forward":
        return auth, _parse_forward(c, item, p, target_groups)
    if kind == "fixed-response":
        return auth, _parse_fixed(c, item, p)
    return auth, _parse_redirect(c, item, p)


def _parse_forward(c: Checker, item: dict[str, Any], p: str,
                   target_groups: dict[str, Any]) -> ForwardAction | None:
    groups: list[WeightedTargetGroup] = []
    if item.get("ForwardConfig") is not None:
        fc = item["ForwardConfig"]
        if not c.mapping(fc, f"{p}.ForwardConfig", known=_FORWARD_KEYS):
            return None
        tgs = c.list_of(fc.get("TargetGroups"), f"{p}.ForwardConfig.TargetGroups", required=True)
        if len(tgs) > 5:
            c.issue(f"{p}.ForwardConfig.TargetGroups", "ALB allows at most 5 target groups per forward action")
        for i, tg in enumerate(tgs):
            tp = f"{p}.ForwardConfig.TargetGroups[{i}]"
            if not c.mapping(tg, tp, known=_WEIGHTED_KEYS):
                continue
            name = c.string(tg.get("TargetGroupArn"), f"{tp}.TargetGroupArn", required=True)
            weight = c.integer(tg.get("Weight", 1), f"{tp}.Weight", 0, 999)
            if name is not None:
                _check_target_group(c, name, f"{tp}.TargetGroupArn", target_groups)
                groups.append(WeightedTargetGroup(name, 1 if weight is None else weight))
        if groups and sum(g.weight for g in groups) == 0:
            c.issue(f"{p}.ForwardConfig.TargetGroups", "at least one target group needs a weight above 0")
    else:
        name = c.string(item.get("TargetGroupArn"), f"{p}.TargetGroupArn", required=True)
        if name is not None:
            _check_target_group(c, name, f"{p}.TargetGroupArn", target_groups)
            groups.append(WeightedTargetGroup(name, 1))
    return ForwardAction(tuple(groups))


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


# --- Authenticate actions --------------------------------------------------------------

def _common_auth_fields(c: Checker, cfg: dict[str, Any], p: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    name = c.string(cfg.get("SessionCookieName", "AWSELBAuthSessionCookie"), f"{p}.SessionCookieName")
    if name is not None and not _COOKIE_NAME.match(name):
        c.issue(f"{p}.SessionCookieName", "is not a valid cookie name")
    out["session_cookie_name"] = name or "AWSELBAuthSessionCookie"
    out["scope"] = c.string(cfg.get("Scope", "openid"), f"{p}.Scope") or "openid"
    # CloudFormation types SessionTimeout as a String in Listener default actions.
    timeout = c.integer(cfg.get("SessionTimeout", MAX_SESSION_TIMEOUT), f"{p}.SessionTimeout",
                        1, MAX_SESSION_TIMEOUT, allow_numeric_string=True)
    out["session_timeout"] = timeout or MAX_SESSION_TIMEOUT
    extra = cfg.get("AuthenticationRequestExtraParams") or {}
    if c.mapping(extra, f"{p}.AuthenticationRequestExtraParams"):
        if len(extra) > 10:
            c.issue(f"{p}.AuthenticationRequestExtraParams",
                    f"ALB allows at most 10 extra parameters (got {len(extra)})")
        for k, v in extra.items():
            if not _EXTRA_PARAM_KEY.match(str(k)):
                c.issue(f"{p}.AuthenticationRequestExtraParams.{k}", "keys must match [a-zA-Z0-9]+")
            c.string(v, f"{p}.AuthenticationRequestExtraParams.{k}", required=True)
        out["extra_params"] = tuple((str(k), str(v)) for k, v in extra.items())
    on_unauth = cfg.get("OnUnauthenticatedRequest", "authenticate")
    if on_unauth not in ("authenticate", "deny", "allow"):
        c.issue(f"{p}.OnUnauthenticatedRequest", "must be authenticate, deny or allow")
        on_unauth = "authenticate"
    out["on_unauthenticated"] = on_unauth
    return out


def _extensions(c: Checker, item: dict[str, Any], p: str) -> dict[str, Any]:
    ext = item.get("albauth") or {}
    ep = f"{p}.albauth"
    out: dict[str, Any] = {}
    if not c.mapping(ext, ep):
        return out
    known = {"client_auth", "pkce", "nonce", "jwks_uri", "idp_timeout", "client_secret", "issuer",
             "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "logout_endpoint",
             "logout_path", "post_logout_redirect_uri", "backchannel_logout_path"}
    for k in ext:
        if k not in known:
            c.issue(f"{ep}.{k}", f"unknown setting (known: {', '.join(sorted(known))})")
    if "client_auth" in ext:
        if ext["client_auth"] not in ("post", "basic"):
            c.issue(f"{ep}.client_auth", "must be post (client_secret_post) or basic (client_secret_basic)")
        else:
            out["client_auth"] = ext["client_auth"]
    for flag in ("pkce", "nonce"):
        if flag in ext:
            out[flag] = c.boolean(ext[flag], f"{ep}.{flag}")
    if "idp_timeout" in ext:
        out["idp_timeout"] = c.number(ext["idp_timeout"], f"{ep}.idp_timeout", 0.1, 300)
    for key in ("jwks_uri", "logout_endpoint", "post_logout_redirect_uri"):
        if key in ext:
            out[key] = c.url(ext[key], f"{ep}.{key}")
    _logout_paths(c, ext, ep, out)
    return out


def _logout_paths(c: Checker, ext: dict[str, Any], ep: str, out: dict[str, Any]) -> None:
    """albauth's opt-in logout routes (ALB has none, spec 3.2): absolute paths of their own."""
    for key in ("logout_path", "backchannel_logout_path"):
        path = c.string(ext.get(key), f"{ep}.{key}")
        if path is None:
            continue
        if not path.startswith("/") or "?" in path or "#" in path:
            c.issue(f"{ep}.{key}", "must be an absolute path, e.g. /oauth2/logout")
        elif path == "/oauth2/idpresponse":
            c.issue(f"{ep}.{key}", "must not be the login callback /oauth2/idpresponse")
        else:
            out[key] = path
    if out.get("logout_path") and out["logout_path"] == out.get("backchannel_logout_path"):
        c.issue(f"{ep}.backchannel_logout_path", "must differ from logout_path")
    if "logout_path" in out and "post_logout_redirect_uri" not in ext:
        c.issue(f"{ep}.post_logout_redirect_uri",
                "is required with logout_path: where the provider sends the user after logout "
                "(a page not behind an authenticate rule)")


def parse_oidc(c: Checker, item: dict[str, Any], p: str) -> AuthenticateConfig | None:
    cp = f"{p}.AuthenticateOidcConfig"
    cfg = item.get("AuthenticateOidcConfig")
    if not c.mapping(cfg, cp, required=True, known=_OIDC_KEYS):
        return None
    issuer = c.url(cfg.get("Issuer"), f"{cp}.Issuer", required=True)
    endpoints: dict[str, Any] = {
        key: c.url(cfg.get(field), f"{cp}.{field}")
        for key, field in (("authorization_endpoint", "AuthorizationEndpoint"),
                           ("token_endpoint", "TokenEndpoint"), ("userinfo_endpoint", "UserInfoEndpoint"))}
    client_id = c.string(cfg.get("ClientId"), f"{cp}.ClientId", required=True)
    secret = c.string(cfg.get("ClientSecret"), f"{cp}.ClientSecret", required=True)
    common = _common_auth_fields(c, cfg, cp)
    ext = _extensions(c, item, p)
    ext.pop("client_secret", None)
    if None in (issuer, client_id, secret):
        return None
    return AuthenticateConfig(kind="oidc", issuer=issuer or "", client_id=client_id or "",
                              client_secret=secret or "", **endpoints, **common, **ext)


def cognito_endpoints(region: str, pool_id: str, domain: str) -> dict[str, str]:
    """Spec 1.2.1: a domain with a dot is a custom domain, otherwise a prefix."""
    base = f"https://{domain}" if "." in domain else f"https://{domain}.auth.{region}.amazoncognito.com"
    return {
        "authorization_endpoint": f"{base}/oauth2/authorize",
        "token_endpoint": f"{base}/oauth2/token",
        "userinfo_endpoint": f"{base}/oauth2/userInfo",
        "logout_endpoint": f"{base}/logout",
        "issuer": f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
    }


def parse_cognito(c: Checker, item: dict[str, Any], p: str) -> AuthenticateConfig | None:
    cp = f"{p}.AuthenticateCognitoConfig"
    cfg = item.get("AuthenticateCognitoConfig")
    if not c.mapping(cfg, cp, required=True, known=_COGNITO_KEYS):
        return None
    arn = c.string(cfg.get("UserPoolArn"), f"{cp}.UserPoolArn", required=True)
    client_id = c.string(cfg.get("UserPoolClientId"), f"{cp}.UserPoolClientId", required=True)
    domain = c.string(cfg.get("UserPoolDomain"), f"{cp}.UserPoolDomain", required=True)
    common = _common_auth_fields(c, cfg, cp)
    m = _COGNITO_ARN.match(arn or "")
    if arn and not m:
        c.issue(f"{cp}.UserPoolArn", "must look like arn:aws:cognito-idp:<region>:<account>:userpool/<region>_<id>")
    ext_raw = item.get("albauth") or {}
    ext = _extensions(c, item, p)
    secret = c.string(ext_raw.get("client_secret") if isinstance(ext_raw, dict) else None,
                      f"{p}.albauth.client_secret", required=True,
                      hint="ALB reads the app client's secret from Cognito itself; albauth cannot, so give it here")
    if not (m and client_id and domain and secret):
        return None
    derived: dict[str, Any] = cognito_endpoints(m["region"], m["pool"], domain)
    # Local stand-ins (cognito-local, the built-in provider) override the derived URLs.
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "logout_endpoint"):
        override = ext_raw.get(key) if isinstance(ext_raw, dict) else None
        if override is not None:
            derived[key] = c.url(override, f"{p}.albauth.{key}") or derived[key]
    ext.pop("client_secret", None)
    ext.pop("logout_endpoint", None)
    return AuthenticateConfig(kind="cognito", client_id=client_id, client_secret=secret,
                              **derived, **common, **ext)


def url_is_loopback(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # e.g. an unbalanced [ in the host
        return False
    return host_is_loopback(host)


def host_is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1 (with or without brackets)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
