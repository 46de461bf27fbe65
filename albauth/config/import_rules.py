"""`albauth import-rules`: an ALB's listeners and rules, as `aws elbv2 describe-listeners` /
`describe-rules` print them or as a CloudFormation template declares them, turned into an
albauth configuration document.

What cannot be carried over is said, never guessed: target groups become named groups with
a TODO URL (ALB's targets are instance ids and IPs in a VPC), client secrets become `${VAR}`
references (describe-rules never returns them, and secrets do not belong in config files),
ACM certificates become `${VAR}` PEM file paths, and each feature albauth does not emulate
is dropped with a note."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from albauth.config.cfn_template import env_name

__all__ = ["ImportError_", "Imported", "RuleImporter"]

_TG_ARN = re.compile(r"^arn:aws[\w-]*:elasticloadbalancing:[^:]*:\d*:targetgroup/([^/]+)/[0-9a-f]+$")
_ACTION_TYPES = ("forward", "fixed-response", "redirect", "authenticate-oidc", "authenticate-cognito")
_ACTION_KEYS = ("Type", "Order", "TargetGroupArn", "ForwardConfig", "FixedResponseConfig", "RedirectConfig",
                "AuthenticateOidcConfig", "AuthenticateCognitoConfig")
_CONDITION_FIELDS = {"host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig",
                     "http-header": "HttpHeaderConfig", "http-request-method": "HttpRequestMethodConfig",
                     "query-string": "QueryStringConfig", "source-ip": "SourceIpConfig"}
_PLAIN_VAR = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$")
SESSION_SECRET = "ALBAUTH_SESSION_SECRET"


class ImportError_(Exception):  # noqa: N801 - `ImportError` is Python's
    """The input is none of the shapes import-rules reads (a usage error)."""


@dataclass
class Imported:
    document: dict[str, Any]
    notes: list[str]  # what albauth cannot emulate, and what was done instead
    variables: dict[str, str]  # each ${VAR} the document uses -> what to set it to


@dataclass
class RuleImporter:
    notes: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    target_groups: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # name -> {targets: [url]}
    _names: dict[str, str] = field(default_factory=dict)  # ARN or logical id -> name
    _secrets: dict[tuple[str, str], str] = field(default_factory=dict)  # (issuer, client id) -> ${VAR} name
    attributes: list[dict[str, Any]] = field(default_factory=list)  # the LoadBalancerAttributes albauth applies
    _uses_auth: bool = False

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def variable(self, name: str, meaning: str) -> str:
        self.variables.setdefault(name, meaning)
        return f"${{{name}}}"

    def target_group(self, ref: str, protocol: Any = None, port: Any = None) -> str:
        """The albauth name for a target group ARN or logical id, with a TODO URL the operator replaces."""
        if ref in self._names:
            return self._names[ref]
        m = _TG_ARN.match(ref)
        base = m.group(1) if m else env_name(ref.rsplit("/", 1)[-1] or ref)
        name, n = base, 2
        while name in self.target_groups:
            name, n = f"{base}-{n}", n + 1
        scheme = "https" if protocol == "HTTPS" else "http"
        port = port if isinstance(port, int) or (isinstance(port, str) and port.isdigit()) else 80
        self._names[ref] = name
        self.target_groups[name] = {"targets": [f"{scheme}://TODO-{name}:{port}"]}
        self.note(f"target group {name} ({ref}): its targets are not imported; replace "
                  f"{scheme}://TODO-{name}:{port} with your app's URL(s)")
        return name

    # --- listeners and rules -----------------------------------------------------------

    def listener(self, raw: dict[str, Any], where: str, rules: list[dict[str, Any]]) -> dict[str, Any] | None:
        protocol, port = raw.get("Protocol", "HTTP"), raw.get("Port")
        if protocol not in ("HTTP", "HTTPS"):
            self.note(f"{where}: a {protocol} listener (a Network Load Balancer's) is not emulated: skipped")
            return None
        out: dict[str, Any] = {"Protocol": protocol, "Port": port}
        if protocol == "HTTPS":
            out["albauth"] = self._tls_files(raw, where, port)
        self._listener_notes(raw, where)
        default = self.actions(raw.get("DefaultActions") or [], f"{where}.DefaultActions")
        if default is None:
            self.note(f"{where}: skipped, its default actions cannot be emulated (see above)")
            return None
        out["DefaultActions"] = default
        converted = [c for i, r in enumerate(rules) if (c := self.rule(r, f"{where}.Rules[{i}]")) is not None]
        defaults = [r for r in converted if r.get("Priority") == "default"]
        if defaults:  # describe-rules lists the default rule too: it is the listener's DefaultActions
            out["DefaultActions"] = defaults[-1]["Actions"]
        if not out["DefaultActions"]:
            self.note(f"{where}: the input has no default action; a fixed-response 404 was written")
            out["DefaultActions"] = [{"Type": "fixed-response",
                                      "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain",
                                                              "MessageBody": "Not Found"}}]
        if any(r.get("Priority") != "default" for r in converted):
            out["Rules"] = [r for r in converted if r.get("Priority") != "default"]
        return out

    def _tls_files(self, raw: dict[str, Any], where: str, port: Any) -> dict[str, str]:
        # The first HTTPS listener's files are TLS_CERT_FILE/TLS_KEY_FILE; another's carry its port.
        suffix = "" if "TLS_CERT_FILE" not in self.variables else f"_{env_name(str(port))}"
        certificates = [_written(c.get("CertificateArn")) for c in raw.get("Certificates") or [] if isinstance(c, dict)]
        self.note(f"{where}: ACM certificates ({', '.join(certificates) or 'none given'}) cannot be "
                  f"used: give the PEM files in TLS_CERT_FILE{suffix} and TLS_KEY_FILE{suffix}")
        return {"certificate_file": self.variable(f"TLS_CERT_FILE{suffix}", f"{where}: PEM certificate chain"),
                "key_file": self.variable(f"TLS_KEY_FILE{suffix}", f"{where}: PEM private key")}

    def _listener_notes(self, raw: dict[str, Any], where: str) -> None:
        if raw.get("SslPolicy"):
            self.note(f"{where}: SslPolicy {raw['SslPolicy']} is not applied (albauth uses Python's TLS defaults)")
        if raw.get("AlpnPolicy"):
            self.note(f"{where}: AlpnPolicy is not applied")
        mtls = raw.get("MutualAuthentication")
        if isinstance(mtls, dict) and mtls.get("Mode", "off") != "off":
            self.note(f"{where}: MutualAuthentication {mtls.get('Mode')} is not emulated: dropped (no client "
                      "certificates are asked for)")

    def rule(self, raw: dict[str, Any], where: str) -> dict[str, Any] | None:
        is_default = raw.get("IsDefault") is True or raw.get("Priority") == "default"
        if raw.get("Transforms"):
            self.note(f"{where}: Transforms (host/URL rewrites) are not emulated: rule skipped")
            return None
        actions = self.actions(raw.get("Actions") or [], f"{where}.Actions")
        if actions is None:
            self.note(f"{where}: rule skipped")
            return None
        if is_default:
            return {"Priority": "default", "Actions": actions}
        conditions = self._conditions(raw.get("Conditions") or [], f"{where}.Conditions")
        if conditions is None:
            self.note(f"{where}: rule skipped")
            return None
        return {"Priority": raw.get("Priority"), "Conditions": conditions, "Actions": actions}

    def _conditions(self, raw: list[Any], where: str) -> list[dict[str, Any]] | None:
        out = []
        for i, cond in enumerate(raw):
            fld = cond.get("Field") if isinstance(cond, dict) else None
            key = _CONDITION_FIELDS.get(str(fld))
            if key is None:
                self.note(f"{where}[{i}]: condition {fld!r} is not emulated")
                return None
            config = cond.get(key)
            if isinstance(config, dict) and set(config) - {"Values", "HttpHeaderName"}:
                extra = ", ".join(sorted(set(config) - {"Values", "HttpHeaderName"}))
                self.note(f"{where}[{i}]: {key}.{extra} is not emulated")
                return None
            # describe-rules prints the legacy Values beside the Config: give the values once.
            out.append({"Field": fld, key: config} if config is not None else
                       {"Field": fld, "Values": cond.get("Values")})
        return out

    def actions(self, raw: list[Any], where: str) -> list[dict[str, Any]] | None:
        out = []
        for i, action in enumerate(raw):
            kind = action.get("Type") if isinstance(action, dict) else None
            if kind not in _ACTION_TYPES:
                self.note(f"{where}[{i}]: action type {kind!r} is not emulated")
                return None
            out.append(self._action(action, f"{where}[{i}]"))
        return out

    def _action(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        action = {k: raw[k] for k in _ACTION_KEYS if raw.get(k) is not None}
        for key in set(raw) - set(_ACTION_KEYS) - {"Tags"}:
            self.note(f"{where}.{key} is not emulated: dropped")
        if "TargetGroupArn" in action:
            action["TargetGroupArn"] = self.target_group(str(action["TargetGroupArn"]))
        forward = action.get("ForwardConfig")
        if isinstance(forward, dict):
            action["ForwardConfig"] = self._forward_config(forward, where)
            if "TargetGroupArn" in action:  # describe-rules prints both: ForwardConfig says it all
                del action["TargetGroupArn"]
        if "AuthenticateOidcConfig" in action:
            action["AuthenticateOidcConfig"] = self._oidc(dict(action["AuthenticateOidcConfig"]), where)
        if isinstance(action.get("AuthenticateCognitoConfig"), dict):
            action["albauth"] = {"client_secret": self._cognito_secret(action["AuthenticateCognitoConfig"], where)}
        if raw.get("Type", "").startswith("authenticate"):
            self._uses_auth = True
        return action

    def _forward_config(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        groups = [{"TargetGroupArn": self.target_group(str(g.get("TargetGroupArn"))),
                   **({"Weight": g["Weight"]} if "Weight" in g else {})}
                  for g in raw.get("TargetGroups") or [] if isinstance(g, dict)]
        sticky = raw.get("TargetGroupStickinessConfig")
        if isinstance(sticky, dict) and sticky.get("Enabled") in (True, "true"):
            self.note(f"{where}.ForwardConfig: target group stickiness is not emulated: dropped")
        return {"TargetGroups": groups}

    def _oidc(self, cfg: dict[str, Any], where: str) -> dict[str, Any]:
        cfg.pop("UseExistingClientSecret", None)
        secret = cfg.get("ClientSecret")
        if isinstance(secret, str) and _PLAIN_VAR.match(secret):
            return cfg  # already a variable (a template parameter)
        client = (str(cfg.get("Issuer")), str(cfg.get("ClientId")))
        if client not in self._secrets:
            self._secrets[client] = "OIDC_CLIENT_SECRET" + (f"_{env_name(client[1]).upper()}" if self._secrets else "")
        name = self._secrets[client]
        if secret:
            self.note(f"{where}: the ClientSecret written in the input was replaced by ${{{name}}} "
                      "(keep secrets out of configuration files)")
        cfg["ClientSecret"] = self.variable(name, f"client secret of {client[1]} at {client[0]}")
        return cfg

    def _cognito_secret(self, cfg: dict[str, Any], where: str) -> str:
        """ALB reads a Cognito app client's secret from Cognito itself; albauth must be given it."""
        client = (str(cfg.get("UserPoolArn")), str(cfg.get("UserPoolClientId")))
        if client not in self._secrets:
            taken = any(v.startswith("COGNITO_CLIENT_SECRET") for v in self._secrets.values())
            self._secrets[client] = "COGNITO_CLIENT_SECRET" + (f"_{env_name(client[1]).upper()}" if taken else "")
        name = self._secrets[client]
        self.note(f"{where}: ALB reads the Cognito app client's secret from Cognito; albauth needs it in ${{{name}}}")
        return self.variable(name, f"client secret of the Cognito app client {client[1]}")

    def document(self, listeners: list[dict[str, Any]]) -> dict[str, Any]:
        own: dict[str, Any] = {}
        if self._uses_auth:
            own["session"] = {"secrets": [self.variable(SESSION_SECRET, "session secret, at least 32 characters")]}
        own["target_groups"] = self.target_groups
        doc: dict[str, Any] = {"albauth": own, "listeners": listeners}
        if self.attributes:
            doc["LoadBalancerAttributes"] = self.attributes
        return doc


def _written(value: Any) -> str:
    """A value as the input wrote it: `!Ref Certificate` rather than a dict."""
    if isinstance(value, dict) and len(value) == 1:
        (name, arg), = value.items()
        return f"!{str(name).removeprefix('Fn::')} {arg}"
    return str(value)
