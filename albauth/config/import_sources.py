"""The inputs `albauth import-rules` reads, told apart by their shape, and the listeners
each one declares: `describe-listeners` output (`{"Listeners": [...]}`), `describe-rules`
output (`{"Rules": [...]}`, attached to its listener by ARN), and CloudFormation templates
(`{"Resources": ...}` with `AWS::ElasticLoadBalancingV2::*` resources)."""

from __future__ import annotations

import re
from typing import Any

from albauth.config.attributes import SUPPORTED
from albauth.config.cfn_template import CfnResolver
from albauth.config.import_rules import Imported, ImportError_, RuleImporter

__all__ = ["import_documents"]

_ELB = "AWS::ElasticLoadBalancingV2::"
_LISTENER_OF_RULE = re.compile(r"^(arn:[^:]+:elasticloadbalancing:[^:]*:\d*:)listener-rule(/.+)/[^/]+$")
# The listener fields the conversion reads; the rest (Certificates, SslPolicy, ...) only give notes,
# so their functions are not evaluated (an ACM certificate's !Ref has no value outside AWS).
_LISTENER_VALUES = ("Port", "Protocol", "DefaultActions")
_RULE_VALUES = ("Priority", "Conditions", "Actions", "Transforms")


def import_documents(docs: list[tuple[str, Any]]) -> Imported:
    """`docs`: (file name, parsed content). Raises ImportError_ on an input of no known shape."""
    importer = RuleImporter()
    listeners: list[dict[str, Any] | None] = []  # None: a listener skipped (a note says why)
    described: list[tuple[str, dict[str, Any]]] = []  # describe-listeners entries: (where, listener)
    rules_by_listener: dict[str, list[dict[str, Any]]] = {}
    for name, doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("Resources"), dict):
            listeners += _template(importer, name, doc)
        elif isinstance(doc, dict) and isinstance(doc.get("Listeners"), list):
            described += [(f"{name}: Listeners[{i}]", lst) for i, lst in enumerate(doc["Listeners"])
                          if isinstance(lst, dict)]
        elif isinstance(doc, dict) and isinstance(doc.get("Rules"), list):
            for rule in doc["Rules"]:
                if isinstance(rule, dict):
                    rules_by_listener.setdefault(_listener_arn(str(rule.get("RuleArn", ""))), []).append(rule)
        else:
            raise ImportError_(f"{name}: not `aws elbv2 describe-rules` or `describe-listeners` output, nor a "
                               "CloudFormation template (expected a Rules, Listeners or Resources key)")
    for where, lst in described:
        listeners.append(importer.listener(lst, where, rules_by_listener.pop(str(lst.get("ListenerArn")), [])))
    listeners += _listeners_for_rules(importer, rules_by_listener, {lst.get("Port") for lst in listeners if lst})
    return Imported(importer.document([lst for lst in listeners if lst is not None]), importer.notes,
                    importer.variables)


def _listener_arn(rule_arn: str) -> str:
    m = _LISTENER_OF_RULE.match(rule_arn)
    return f"{m.group(1)}listener{m.group(2)}" if m else ""


def _listeners_for_rules(importer: RuleImporter, rules_by_listener: dict[str, list[dict[str, Any]]],
                         taken: set[Any]) -> list[dict[str, Any] | None]:
    """describe-rules without its describe-listeners: the port and protocol are not in it."""
    out = []
    for arn, rules in rules_by_listener.items():
        auth = any(str(a.get("Type", "")).startswith("authenticate")
                   for r in rules for a in r.get("Actions") or [] if isinstance(a, dict))
        protocol, port = ("HTTPS", 443) if auth else ("HTTP", 80)
        while port in taken:
            port += 1
        taken.add(port)
        where = f"listener {arn or '(rules without a RuleArn)'}"
        importer.note(f"{where}: describe-rules does not give the listener's protocol and port: {protocol} {port} "
                      "written (give describe-listeners output too, or edit Port)")
        out.append(importer.listener({"Protocol": protocol, "Port": port}, where, rules))
    return out


def _attributes(importer: RuleImporter, raw: list[Any], where: str, resolver: CfnResolver) -> None:
    for item in resolver.resolve(raw, where):
        if isinstance(item, dict) and item.get("Key") in SUPPORTED:
            importer.attributes.append({"Key": item["Key"], "Value": str(item.get("Value")).lower()})
        elif isinstance(item, dict):
            importer.note(f"{where}: load balancer attribute {item.get('Key')} is not emulated: dropped")


def _template(importer: RuleImporter, name: str, doc: dict[str, Any]) -> list[dict[str, Any] | None]:
    resources = {k: v for k, v in doc["Resources"].items() if isinstance(v, dict)}
    groups = {}
    for lid, res in resources.items():
        if res.get("Type") == f"{_ELB}TargetGroup":
            props = res.get("Properties") or {}
            groups[lid] = importer.target_group(lid, props.get("Protocol"), props.get("Port"))
            if props.get("TargetType") == "lambda":
                importer.note(f"{name}: {lid}: a Lambda target group: albauth forwards over HTTP only")
    resolver = CfnResolver(doc, groups, importer.note)
    rules: dict[str, list[dict[str, Any]]] = {}
    for lid, res in resources.items():
        props = res.get("Properties") or {}
        if res.get("Type") == f"{_ELB}ListenerRule":
            listener = props.get("ListenerArn")
            ref = str(listener.get("Ref")) if isinstance(listener, dict) else ""
            if ref not in resources:
                importer.note(f"{name}: {lid}: its listener is not in this template: rule skipped")
                continue
            values = {k: props[k] for k in _RULE_VALUES if k in props}
            rules.setdefault(ref, []).append(resolver.resolve(values, f"{name}: {lid}"))
        elif res.get("Type") == f"{_ELB}ListenerCertificate":
            importer.note(f"{name}: {lid}: extra listener certificates (SNI) are not imported")
        elif res.get("Type") == f"{_ELB}LoadBalancer":
            _attributes(importer, props.get("LoadBalancerAttributes") or [], f"{name}: {lid}", resolver)
    out = []
    for lid, res in resources.items():
        if res.get("Type") == f"{_ELB}Listener":
            props = res.get("Properties") or {}
            values = resolver.resolve({k: props[k] for k in _LISTENER_VALUES if k in props}, f"{name}: {lid}")
            notes_only = {k: v for k, v in props.items() if k not in _LISTENER_VALUES}
            out.append(importer.listener({**notes_only, **values}, f"{name}: {lid}", rules.get(lid, [])))
    for var, meaning in resolver.variables.items():
        importer.variable(var, meaning)
    return out
