"""Load a YAML configuration file into `Settings`, reporting every problem at once.

Layout (ALB's shapes under `listeners`, albauth's own settings under `albauth`):

    albauth:
      admin_listen: 127.0.0.1:9901
      session: {store: cookie, secrets: ["${ALBAUTH_SESSION_SECRET}"]}
      signing: {key_file: /var/lib/albauth/signing.pem}
      target_groups: {app: {targets: ["http://127.0.0.1:8080"]}}
    listeners:
      - Protocol: HTTPS
        Port: 8443
        albauth: {certificate_file: cert.pem, key_file: key.pem}
        DefaultActions: [{Type: forward, TargetGroupArn: app}]
        Rules: [{Priority: 10, Conditions: [...], Actions: [...]}]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import yaml

from albauth.config.actions import host_is_loopback, parse_actions, parse_conditions
from albauth.config.checker import Checker
from albauth.config.errors import ConfigError, ConfigIssue
from albauth.config.model import (
    Listener,
    ProxySettings,
    Rule,
    SessionSettings,
    Settings,
    SigningSettings,
    TargetGroup,
)
from albauth.config.substitute import substitute

MIN_SECRET_LENGTH = 32


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation's short-form intrinsics, so a pasted
    `TargetGroupArn: !Ref AppTargetGroup` names the target group `AppTargetGroup`."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        return value.split(".")[0] if suffix == "GetAtt" else value
    if isinstance(node, yaml.SequenceNode):
        items = loader.construct_sequence(node)
        return items[0] if items else ""
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _intrinsic)


def load_file(path: str, env: Mapping[str, str] | None = None) -> Settings:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError([ConfigIssue(path, "", f"cannot read the file: {exc.strerror}")]) from None
    return load_text(text, path, os.environ if env is None else env)


def load_text(text: str, file: str, env: Mapping[str, str]) -> Settings:
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError([ConfigIssue(file, "", f"{where}not valid YAML: "
                                                 f"{getattr(exc, 'problem', None) or exc}")]) from None
    c = Checker(file)
    if not isinstance(doc, dict):
        c.issue("", "the top level must be a mapping with `listeners` (and optionally `albauth`)")
        c.raise_if_any()
    doc = substitute(doc, env, c.issue)
    unset = len(c.issues)
    for key in doc:
        if key not in ("albauth", "listeners"):
            c.issue(str(key), "unknown top-level key (expected albauth and listeners)")
    settings = parse_document(c, doc)
    # An unset variable becomes "", which later checks would also report ("is required",
    # "too short"): the unset variable is the one problem at that key.
    unset_keys = {i.key for i in c.issues[:unset]}
    c.issues[unset:] = [i for i in c.issues[unset:] if i.key not in unset_keys]
    c.raise_if_any()
    return settings


def parse_document(c: Checker, doc: dict[str, Any]) -> Settings:
    own = doc.get("albauth") or {}
    if not c.mapping(own, "albauth", known=frozenset({"admin_listen", "log_level", "session", "signing",
                                                      "proxy", "target_groups"})):
        own = {}
    target_groups = _parse_target_groups(c, own.get("target_groups") or {})
    listeners = []
    raw_listeners = c.list_of(doc.get("listeners"), "listeners", required=True)
    for i, raw in enumerate(raw_listeners):
        listener = _parse_listener(c, raw, f"listeners[{i}]", target_groups)
        if listener is not None:
            listeners.append(listener)
    seen: dict[tuple[str, int], int] = {}
    for i, lst in enumerate(listeners):
        if (lst.address, lst.port) in seen:
            other = seen[(lst.address, lst.port)]
            c.issue(f"listeners[{i}].Port", f"port {lst.port} is already used by listeners[{other}]")
        seen[(lst.address, lst.port)] = i
    admin = own.get("admin_listen", "127.0.0.1:9901")
    admin_listen = (None if admin in (None, "", "off", False)
                    else c.host_port(admin, "albauth.admin_listen", "127.0.0.1"))
    return Settings(
        listeners=tuple(listeners),
        target_groups=target_groups,
        session=parse_session(c, own.get("session") or {}, "albauth.session"),
        signing=_parse_signing(c, own.get("signing") or {}),
        proxy=_parse_proxy(c, own.get("proxy") or {}),
        admin_listen=admin_listen,
        log_level=_log_level(c, own.get("log_level", "INFO"), "albauth.log_level"),
        source=c.file,
    )


def _log_level(c: Checker, value: Any, path: str) -> str:
    level = str(value).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        c.issue(path, "must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return "INFO"
    return level


def _parse_target_groups(c: Checker, raw: Any) -> dict[str, TargetGroup]:
    out: dict[str, TargetGroup] = {}
    if not c.mapping(raw, "albauth.target_groups"):
        return out
    for name, spec in raw.items():
        p = f"albauth.target_groups.{name}"
        if isinstance(spec, str):
            spec = {"targets": [spec]}
        if not c.mapping(spec, p):
            continue
        targets = [c.url(t, f"{p}.targets[{i}]", required=True)
                   for i, t in enumerate(c.list_of(spec.get("targets"), f"{p}.targets", required=True))]
        out[str(name)] = TargetGroup(str(name), tuple(t for t in targets if t))
    return out


# ALB's own listener and rule fields; those albauth has no use for (ARNs, SslPolicy, ...) are
# accepted so describe-listeners / describe-rules output and CloudFormation paste as they are.
_LISTENER_KEYS = frozenset({"Protocol", "Port", "DefaultActions", "Rules", "albauth", "LoadBalancerArn",
                            "ListenerArn", "Certificates", "SslPolicy", "AlpnPolicy", "MutualAuthentication",
                            "Tags"})
_RULE_KEYS = frozenset({"Priority", "Conditions", "Actions", "RuleArn", "IsDefault", "ListenerArn", "Tags"})


def _parse_listener(c: Checker, raw: Any, p: str, target_groups: dict[str, TargetGroup]) -> Listener | None:
    if not c.mapping(raw, p, known=_LISTENER_KEYS):
        return None
    protocol = raw.get("Protocol", "HTTP")
    if protocol not in ("HTTP", "HTTPS"):
        c.issue(f"{p}.Protocol", "must be HTTP or HTTPS")
        protocol = "HTTP"
    port = c.integer(raw.get("Port"), f"{p}.Port", 1, 65535)
    if port is None and "Port" not in raw:
        c.issue(f"{p}.Port", "is required")
    ext = raw.get("albauth") or {}
    if not c.mapping(ext, f"{p}.albauth"):
        ext = {}
    known = {"address", "certificate_file", "key_file", "trust_forwarded_proto", "local_development"}
    for k in ext:
        if k not in known:
            c.issue(f"{p}.albauth.{k}", f"unknown setting (known: {', '.join(sorted(known))})")
    address = str(ext.get("address", "0.0.0.0"))
    cert = c.string(ext.get("certificate_file"), f"{p}.albauth.certificate_file")
    key = c.string(ext.get("key_file"), f"{p}.albauth.key_file")
    if protocol == "HTTPS":
        if not cert or not key:
            c.issue(f"{p}.albauth", "an HTTPS listener needs certificate_file and key_file (PEM)")
        for field, value in (("certificate_file", cert), ("key_file", key)):
            if value and not os.path.isfile(value):
                c.issue(f"{p}.albauth.{field}", f"no such file: {value}")
    trust_proto = c.boolean(ext.get("trust_forwarded_proto", False), f"{p}.albauth.trust_forwarded_proto")
    local_dev = c.boolean(ext.get("local_development", False), f"{p}.albauth.local_development")
    if local_dev and not host_is_loopback(address):
        c.issue(f"{p}.albauth.local_development",
                f"is for loopback addresses only (the listener binds {address}); behind a TLS proxy "
                "use trust_forwarded_proto instead")
    auth_allowed = protocol == "HTTPS" or trust_proto or local_dev
    rules: list[Rule] = []
    priorities: dict[int, str] = {}
    default_rule: Rule | None = None
    for i, rr in enumerate(c.list_of(raw.get("Rules"), f"{p}.Rules")):
        rp = f"{p}.Rules[{i}]"
        if not c.mapping(rr, rp, known=_RULE_KEYS):
            continue
        # describe-rules output: Priority is a string, "default" marks the default rule.
        prio_raw = rr.get("Priority")
        is_default = rr.get("IsDefault") is True or prio_raw == "default"
        priority = None if is_default else c.integer(prio_raw, f"{rp}.Priority", 1, 50000)
        if priority is None and not is_default and prio_raw is None:
            c.issue(f"{rp}.Priority", "is required (1-50000)")
        if priority is not None:
            if priority in priorities:
                c.issue(f"{rp}.Priority", f"priority {priority} is already used by {priorities[priority]}")
            priorities[priority] = rp
        conditions = () if is_default else parse_conditions(c, rr.get("Conditions"), f"{rp}.Conditions")
        if not is_default and not conditions and "Conditions" not in rr:
            c.issue(f"{rp}.Conditions", "is required: a rule needs at least one condition")
        auth, action = parse_actions(c, rr.get("Actions"), f"{rp}.Actions",
                                     target_groups=target_groups, auth_allowed=auth_allowed)
        if action is None:
            continue
        rule = Rule(priority, conditions, auth, action, rp)
        if is_default:
            default_rule = rule
        else:
            rules.append(rule)
    if raw.get("DefaultActions") is not None:
        if default_rule is not None:
            c.issue(f"{p}.DefaultActions", "given twice: also as a Rules entry with Priority default")
        auth, action = parse_actions(c, raw.get("DefaultActions"), f"{p}.DefaultActions",
                                     target_groups=target_groups, auth_allowed=auth_allowed)
        if action is not None:
            default_rule = Rule(None, (), auth, action, f"{p}.DefaultActions")
    elif default_rule is None:
        c.issue(f"{p}.DefaultActions", "is required: every listener has a default rule")
    if len(rules) > 100:
        c.issue(f"{p}.Rules", "ALB allows 100 rules per load balancer by default")
    if port is None:
        return None
    all_rules = sorted(rules, key=lambda r: r.priority or 0) + ([default_rule] if default_rule else [])
    return Listener(protocol=protocol, port=port, address=address, certificate_file=cert, key_file=key,
                    rules=tuple(all_rules), trust_forwarded_proto=trust_proto, local_development=local_dev)


def parse_secrets(c: Checker, raw: Any, path: str) -> tuple[str, ...]:
    if raw in (None, ""):
        return ()
    values = raw.split(",") if isinstance(raw, str) else c.list_of(raw, path)
    secrets = []
    for i, s in enumerate(values):
        s = str(s).strip()
        if len(s) < MIN_SECRET_LENGTH:
            c.issue(f"{path}[{i}]" if not isinstance(raw, str) else path,
                    f"each secret must be at least {MIN_SECRET_LENGTH} characters (one is {len(s)}); "
                    "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        secrets.append(s)
    return tuple(secrets)


def parse_session(c: Checker, raw: Any, p: str) -> SessionSettings:
    if not c.mapping(raw, p, known=frozenset({"store", "redis_url", "secrets", "key_prefix"})):
        return SessionSettings()
    store = str(raw.get("store", "cookie"))
    redis_url = raw.get("redis_url")
    if store.startswith(("redis://", "rediss://", "unix://", "redis+sentinel://", "redis+cluster://")):
        store, redis_url = "redis", store
    if store not in ("cookie", "memory", "redis"):
        c.issue(f"{p}.store", "must be cookie, memory or a redis:// URL")
        store = "cookie"
    if store == "redis" and not redis_url:
        c.issue(f"{p}.redis_url", "is required for the redis store")
    return SessionSettings(store=store, redis_url=redis_url,  # type: ignore[arg-type]
                           secrets=parse_secrets(c, raw.get("secrets"), f"{p}.secrets"),
                           key_prefix=str(raw.get("key_prefix", "albauth:")))


def _parse_signing(c: Checker, raw: Any) -> SigningSettings:
    p = "albauth.signing"
    if not c.mapping(raw, p, known=frozenset({"key_file", "signer_arn", "region", "account", "encoding",
                                              "lifetime", "reuse_seconds"})):
        return SigningSettings()
    encoding = raw.get("encoding", "alb")
    if encoding not in ("alb", "standard"):
        c.issue(f"{p}.encoding", "must be alb (padded, as ALB sends it) or standard (RFC 7515)")
        encoding = "alb"
    arn = c.string(raw.get("signer_arn"), f"{p}.signer_arn")
    if arn and not arn.startswith("arn:aws"):
        c.issue(f"{p}.signer_arn", "must be a load balancer ARN (arn:aws:elasticloadbalancing:...)")
    lifetime = c.integer(raw.get("lifetime", 120), f"{p}.lifetime", 1, 3600) or 120
    reuse = c.integer(raw.get("reuse_seconds", 30), f"{p}.reuse_seconds", 0, 3600)
    if reuse is not None and reuse >= lifetime:
        c.issue(f"{p}.reuse_seconds", "must be shorter than lifetime, or apps would get expired tokens")
    return SigningSettings(key_file=c.string(raw.get("key_file"), f"{p}.key_file"), signer_arn=arn,
                           region=str(raw.get("region", "us-east-1")),
                           account=str(raw.get("account", "123456789012")),
                           encoding=encoding, lifetime=lifetime,
                           reuse_seconds=30 if reuse is None else reuse)


def _parse_proxy(c: Checker, raw: Any) -> ProxySettings:
    p = "albauth.proxy"
    if not c.mapping(raw, p, known=frozenset({"connect_timeout", "idle_timeout", "strip_oidc_headers_everywhere",
                                              "expose_error_reason", "verify_target_certificates"})):
        return ProxySettings()
    return ProxySettings(
        connect_timeout=c.number(raw.get("connect_timeout", 10), f"{p}.connect_timeout", 0.01, 600) or 10.0,
        idle_timeout=c.number(raw.get("idle_timeout", 60), f"{p}.idle_timeout", 0.01, 4000) or 60.0,
        strip_oidc_headers_everywhere=c.boolean(raw.get("strip_oidc_headers_everywhere", True),
                                                f"{p}.strip_oidc_headers_everywhere"),
        expose_error_reason=c.boolean(raw.get("expose_error_reason", False), f"{p}.expose_error_reason"),
        verify_target_certificates=c.boolean(raw.get("verify_target_certificates", False),
                                             f"{p}.verify_target_certificates"),
    )
