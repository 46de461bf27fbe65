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

from albauth.config.attributes import parse_load_balancer_attributes
from albauth.config.checker import Checker
from albauth.config.errors import ConfigError, ConfigIssue
from albauth.config.intrinsics import Loader, refuse_intrinsics
from albauth.config.listeners import parse_listener
from albauth.config.model import Settings
from albauth.config.settings import (
    log_level,
    parse_access_log,
    parse_ca_file,
    parse_forward_auth,
    parse_listen_backlog,
    parse_max_connections,
    parse_proxy,
    parse_session,
    parse_signing,
)
from albauth.config.substitute import substitute
from albauth.config.target_groups import parse_target_groups

TOP_LEVEL_KEYS = frozenset({"albauth", "listeners", "LoadBalancerAttributes"})
_ALBAUTH_KEYS = frozenset({"access_log", "admin_listen", "log_level", "session", "signing", "proxy", "target_groups",
                           "listen_backlog", "max_connections", "forward_auth", "ca_file"})


def load_file(path: str, env: Mapping[str, str] | None = None, *,
              notes: list[ConfigIssue] | None = None) -> Settings:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError([ConfigIssue(path, "", f"cannot read the file: {exc.strerror}")]) from None
    return load_text(text, path, os.environ if env is None else env, notes=notes)


def load_text(text: str, file: str, env: Mapping[str, str], *,
              notes: list[ConfigIssue] | None = None) -> Settings:
    """With `notes`, the problems of the environment (unset variables, missing files:
    ConfigIssue.environmental) are moved there instead of failing the load."""
    try:
        doc = yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError([ConfigIssue(file, "", f"{where}not valid YAML: "
                                                 f"{getattr(exc, 'problem', None) or exc}")]) from None
    c = Checker(file)
    if not isinstance(doc, dict):
        c.issue("", "the top level must be a mapping with `listeners` (and optionally `albauth`)")
        c.raise_if_any()
    refuse_intrinsics(doc, c.issue)
    doc = substitute(doc, env, c.environment_issue)
    unset = len(c.issues)
    c.mapping(doc, "", known=TOP_LEVEL_KEYS, what="top-level key")
    settings = parse_document(c, doc)
    # An unset variable becomes "", which later checks would also report ("is required",
    # "too short"): the unset variable (or the CloudFormation function) is the one problem at that key.
    unset_keys = {i.key for i in c.issues[:unset]}
    c.issues[unset:] = [i for i in c.issues[unset:] if i.key not in unset_keys]
    if notes is not None:
        notes += [i for i in c.issues if i.environmental]
        c.issues = [i for i in c.issues if not i.environmental]
    c.raise_if_any()
    return settings


def parse_document(c: Checker, doc: dict[str, Any]) -> Settings:
    own = doc.get("albauth") or {}
    if not c.mapping(own, "albauth", known=_ALBAUTH_KEYS):
        own = {}
    target_groups = parse_target_groups(c, own.get("target_groups") or {})
    listeners = []
    raw_listeners = c.list_of(doc.get("listeners"), "listeners", required=True)
    for i, raw in enumerate(raw_listeners):
        listener = parse_listener(c, raw, f"listeners[{i}]", target_groups)
        if listener is not None:
            listeners.append(listener)
    seen: dict[tuple[str, int], int] = {}
    for i, lst in enumerate(listeners):
        if (lst.address, lst.port) in seen:
            other = seen[(lst.address, lst.port)]
            c.issue(f"listeners[{i}].Port", f"port {lst.port} is already used by listeners[{other}]")
        seen[(lst.address, lst.port)] = i
    attributes = parse_load_balancer_attributes(c, doc.get("LoadBalancerAttributes"), "LoadBalancerAttributes")
    admin = own.get("admin_listen", "127.0.0.1:9901")
    admin_listen = (None if admin in (None, "", "off", False)
                    else c.host_port(admin, "albauth.admin_listen", "127.0.0.1"))
    return Settings(
        listeners=tuple(listeners),
        target_groups=target_groups,
        session=parse_session(c, own.get("session") or {}, "albauth.session"),
        signing=parse_signing(c, own.get("signing") or {}),
        proxy=parse_proxy(c, own.get("proxy") or {}, attributes),
        forward_auth=parse_forward_auth(c, own.get("forward_auth") or {}),
        admin_listen=admin_listen,
        log_level=log_level(c, own.get("log_level", "INFO"), "albauth.log_level"),
        source=c.file,
        listen_backlog=parse_listen_backlog(c, own.get("listen_backlog", 4096), "albauth.listen_backlog"),
        max_connections=parse_max_connections(c, own.get("max_connections", 10000), "albauth.max_connections"),
        access_log=parse_access_log(c, own.get("access_log"), "albauth.access_log"),
        ca_file=parse_ca_file(c, own.get("ca_file"), "albauth.ca_file"),
    )


