"""Parsing and validation of one listener (spec 7.1): protocol, port, albauth's listener
extensions (address, TLS files, how an HTTP listener may authenticate), its rules and its
default rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from albauth.config.actions import parse_actions
from albauth.config.checker import Checker
from albauth.config.conditions import parse_conditions
from albauth.config.listener_attributes import parse_listener_attributes
from albauth.config.loopback import host_is_loopback
from albauth.config.model import ForwardAction, Listener, Rule, TargetGroup
from albauth.config.mutual_tls import parse_mutual_authentication
from albauth.config.transforms import parse_transforms

# ALB's own listener and rule fields; those albauth has no use for (ARNs, SslPolicy, ...) are
# accepted so describe-listeners / describe-rules output and CloudFormation paste as they are.
_LISTENER_KEYS = frozenset({"Protocol", "Port", "DefaultActions", "Rules", "albauth", "LoadBalancerArn",
                            "ListenerArn", "Certificates", "SslPolicy", "AlpnPolicy", "MutualAuthentication",
                            "Tags", "ListenerAttributes"})
_RULE_KEYS = frozenset({"Priority", "Conditions", "Actions", "RuleArn", "IsDefault", "ListenerArn", "Tags",
                        "Transforms"})
_EXTENSION_KEYS = frozenset({"address", "certificate_file", "key_file", "trust_forwarded_proto",
                             "local_development", "trust_store_file"})
MAX_RULES = 100  # ALB's default quota per load balancer


@dataclass(frozen=True)
class _Extensions:
    """The listener's nested `albauth:` block."""

    address: str
    certificate_file: str | None
    key_file: str | None
    trust_forwarded_proto: bool
    local_development: bool


def parse_listener(c: Checker, raw: Any, p: str, target_groups: dict[str, TargetGroup]) -> Listener | None:
    if not c.mapping(raw, p, known=_LISTENER_KEYS):
        return None
    protocol = raw.get("Protocol", "HTTP")
    if protocol not in ("HTTP", "HTTPS"):
        c.issue(f"{p}.Protocol", "must be HTTP or HTTPS")
        protocol = "HTTP"
    port = c.integer(raw.get("Port"), f"{p}.Port", 1, 65535)
    if port is None and "Port" not in raw:
        c.issue(f"{p}.Port", "is required")
    ext = _parse_extensions(c, raw.get("albauth") or {}, f"{p}.albauth", protocol)
    extensions = raw.get("albauth")
    extensions = extensions if isinstance(extensions, dict) else {}
    mutual_tls = parse_mutual_authentication(c, raw.get("MutualAuthentication"), f"{p}.MutualAuthentication",
                                             protocol=protocol, trust_store_file=extensions.get("trust_store_file"),
                                             ep=f"{p}.albauth")
    attributes = parse_listener_attributes(c, raw.get("ListenerAttributes"), f"{p}.ListenerAttributes", protocol)
    auth_allowed = protocol == "HTTPS" or ext.trust_forwarded_proto or ext.local_development
    rules, default_rule = _parse_rules(c, raw, p, target_groups, auth_allowed)
    default_rule = _parse_default_actions(c, raw, p, target_groups, auth_allowed, default_rule)
    if len(rules) > MAX_RULES:
        c.issue(f"{p}.Rules", f"ALB allows {MAX_RULES} rules per load balancer by default")
    _static_identity_on_loopback_only(c, [*rules, *([default_rule] if default_rule else [])], ext.address)
    if port is None:
        return None
    all_rules = sorted(rules, key=lambda r: r.priority or 0) + ([default_rule] if default_rule else [])
    return Listener(protocol=protocol, port=port, address=ext.address, certificate_file=ext.certificate_file,
                    key_file=ext.key_file, rules=tuple(all_rules), trust_forwarded_proto=ext.trust_forwarded_proto,
                    local_development=ext.local_development, attributes=attributes,
                    mutual_tls=mutual_tls)


def _parse_extensions(c: Checker, ext: Any, ep: str, protocol: str) -> _Extensions:
    if not c.mapping(ext, ep, known=_EXTENSION_KEYS, what="setting"):
        ext = {}
    address = str(ext.get("address", "0.0.0.0"))
    cert = c.string(ext.get("certificate_file"), f"{ep}.certificate_file")
    key = c.string(ext.get("key_file"), f"{ep}.key_file")
    if protocol == "HTTPS":
        missing = [f for f, v in (("certificate_file", cert), ("key_file", key)) if not v]
        # Fields given but empty (an unset ${VAR}) at their own keys, where the variable is the one problem.
        where = [f"{ep}.{f}" for f in missing] if all(f in ext for f in missing) else [ep]
        for key_path in where if missing else []:
            c.issue(key_path, "an HTTPS listener needs certificate_file and key_file (PEM)")
        c.existing_file(cert, f"{ep}.certificate_file")
        c.existing_file(key, f"{ep}.key_file")
    trust_proto = c.boolean(ext.get("trust_forwarded_proto", False), f"{ep}.trust_forwarded_proto")
    local_dev = c.boolean(ext.get("local_development", False), f"{ep}.local_development")
    if local_dev and not host_is_loopback(address):
        c.issue(f"{ep}.local_development",
                f"is for loopback addresses only (the listener binds {address}); behind a TLS proxy "
                "use trust_forwarded_proto instead")
    return _Extensions(address, cert, key, trust_proto, local_dev)


def _static_identity_on_loopback_only(c: Checker, rules: list[Rule], address: str) -> None:
    """A static identity authenticates anyone who can connect: only where nothing off this
    machine can (an app's test suite, albauth dev)."""
    if host_is_loopback(address):
        return
    for rule in rules:
        if rule.authenticate is not None and rule.authenticate.static_identity:
            c.issue(f"{rule.key}.albauth.static_identity" if "Actions" not in rule.key else rule.key,
                    f"static_identity is refused on a listener bound to {address}: it logs in anyone "
                    "who can connect, so it is for loopback listeners only (127.0.0.1, ::1, localhost)")


def _parse_rules(c: Checker, raw: dict[str, Any], p: str, target_groups: dict[str, TargetGroup],
                 auth_allowed: bool) -> tuple[list[Rule], Rule | None]:
    """The listener's rules, and its default rule when `Rules` holds one (describe-rules output)."""
    rules: list[Rule] = []
    priorities: dict[int, str] = {}
    default_rule: Rule | None = None
    for i, rr in enumerate(c.list_of(raw.get("Rules"), f"{p}.Rules")):
        rp = f"{p}.Rules[{i}]"
        if not c.mapping(rr, rp, known=_RULE_KEYS):
            continue
        rule, is_default = _parse_rule(c, rr, rp, target_groups, auth_allowed, priorities)
        if rule is None:
            continue
        if is_default:
            default_rule = rule
        else:
            rules.append(rule)
    return rules, default_rule


def _parse_rule(c: Checker, rr: dict[str, Any], rp: str, target_groups: dict[str, TargetGroup],
                auth_allowed: bool, priorities: dict[int, str]) -> tuple[Rule | None, bool]:
    """The rule (None when unusable), and whether it is the default rule."""
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
    if not is_default and rr.get("Conditions") in (None, []):
        # ALB refuses it too: only the default rule matches every request.
        c.issue(f"{rp}.Conditions", "is required: a rule needs at least one condition "
                                    "(only the default rule matches every request)")
    parsed = parse_actions(c, rr.get("Actions"), f"{rp}.Actions",
                           target_groups=target_groups, auth_allowed=auth_allowed)
    if parsed.terminal is None:
        return None, is_default
    host_rewrite, url_rewrite = parse_transforms(c, rr.get("Transforms"), f"{rp}.Transforms", is_default=is_default,
                                                 forwards=isinstance(parsed.terminal, ForwardAction))
    return Rule(priority, conditions, parsed.authenticate, parsed.terminal, rp, jwt_validation=parsed.jwt_validation,
                host_header_rewrite=host_rewrite, url_rewrite=url_rewrite), is_default


def _parse_default_actions(c: Checker, raw: dict[str, Any], p: str, target_groups: dict[str, TargetGroup],
                           auth_allowed: bool, default_rule: Rule | None) -> Rule | None:
    if raw.get("DefaultActions") is not None:
        if default_rule is not None:
            c.issue(f"{p}.DefaultActions", "given twice: also as a Rules entry with Priority default")
        parsed = parse_actions(c, raw.get("DefaultActions"), f"{p}.DefaultActions",
                               target_groups=target_groups, auth_allowed=auth_allowed)
        if parsed.terminal is not None:
            return Rule(None, (), parsed.authenticate, parsed.terminal, f"{p}.DefaultActions",
                        jwt_validation=parsed.jwt_validation)
        return default_rule
    if default_rule is None:
        c.issue(f"{p}.DefaultActions", "is required: every listener has a default rule")
    return default_rule
