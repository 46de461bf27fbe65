"""Parsing of a rule's `Transforms` (ALB's host-header-rewrite and url-rewrite): one of each per
rule, none on the default rule, each a `RewriteConfig` {Regex, Replace} of at most 1,024
characters whose regular expression ALB (and RE2) accepts."""

from __future__ import annotations

from typing import Any

from albauth.config.checker import Checker
from albauth.config.model import Rewrite
from albauth.regex import RegexRefused, compile_alb_regex

_CONFIG_KEY = {"host-header-rewrite": "HostHeaderRewriteConfig", "url-rewrite": "UrlRewriteConfig"}
_TRANSFORM_KEYS = frozenset({"Type", *_CONFIG_KEY.values()})
_REWRITES_KEYS = frozenset({"Rewrites"})
_REWRITE_KEYS = frozenset({"Regex", "Replace"})
MAX_LENGTH = 1024  # RewriteConfig.Regex and .Replace


def parse_transforms(c: Checker, raw: Any, path: str, *, is_default: bool,
                     forwards: bool) -> tuple[Rewrite | None, Rewrite | None]:
    """(host-header rewrite, url rewrite)."""
    found: dict[str, Rewrite | None] = {}
    items = c.list_of(raw, path)
    if items and is_default:
        c.issue(path, "ALB does not allow transforms on a default rule")
    if items and not forwards:
        c.issue(path, "albauth applies transforms to forwarded requests only: this rule's action "
                      "answers without a target")
    for i, item in enumerate(items):
        ip = f"{path}[{i}]"
        if not c.mapping(item, ip, known=_TRANSFORM_KEYS):
            continue
        kind = item.get("Type")
        if kind not in _CONFIG_KEY:
            c.issue(f"{ip}.Type", f"must be host-header-rewrite or url-rewrite (got {kind!r})")
            continue
        if kind in found:
            c.issue(f"{ip}.Type", f"ALB allows one {kind} transform per rule")
        for other, key in _CONFIG_KEY.items():
            if other != kind and key in item:
                c.issue(f"{ip}.{key}", f"belongs to a {other} transform, and this one is {kind}")
        found[kind] = _rewrite(c, item.get(_CONFIG_KEY[kind]), f"{ip}.{_CONFIG_KEY[kind]}")
    return found.get("host-header-rewrite"), found.get("url-rewrite")


def _rewrite(c: Checker, cfg: Any, cp: str) -> Rewrite | None:
    if not c.mapping(cfg, cp, required=True, known=_REWRITES_KEYS):
        return None
    rewrites = c.list_of(cfg.get("Rewrites"), f"{cp}.Rewrites", required=True)
    if len(rewrites) > 1:
        c.issue(f"{cp}.Rewrites", "takes one RewriteConfig (one Regex and its Replace)")
    if not rewrites or not c.mapping(rewrites[0], f"{cp}.Rewrites[0]", known=_REWRITE_KEYS):
        return None
    rp = f"{cp}.Rewrites[0]"
    regex = c.string(rewrites[0].get("Regex"), f"{rp}.Regex", required=True)
    replace = rewrites[0].get("Replace")
    if not isinstance(replace, str):
        c.issue(f"{rp}.Replace", "is required: the replacement string ($1, $2 name capture groups)")
        return None
    for name, value in (("Regex", regex or ""), ("Replace", replace)):
        if len(value) > MAX_LENGTH:
            c.issue(f"{rp}.{name}", f"is longer than {MAX_LENGTH} characters")
    if regex is None:
        return None
    try:
        compile_alb_regex(regex)
    except RegexRefused as exc:
        c.issue(f"{rp}.Regex", str(exc))
        return None
    return Rewrite(regex, replace)
