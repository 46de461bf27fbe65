"""ALB's rule transforms at run time: host-header-rewrite and url-rewrite, compiled once per
rule with RE2 (albauth.regex) and applied to the forwarded request after the rule matched and
the authenticate action ran, so that rules and the authenticate action see the request as the
client sent it and the target sees the rewritten one.

ALB: "If there is no pattern match, the original request is sent to the target. If there is a
pattern match but the transform fails, we return an HTTP 500 error." A rewritten URL goes
through albauth.paths again, so a rewrite cannot hand the target a path the rules would not
have seen in that spelling (`/public/../admin`); one that cannot be normalized fails (500).
"""

from __future__ import annotations

from dataclasses import dataclass

from albauth.config.model import Rewrite, Rule
from albauth.paths import PathPolicy, UnsafePath, normalize_target
from albauth.regex import AlbRegex, compile_alb_regex

__all__ = ["RewriteFailed", "RuleRewrites"]

_NOT_IN_HOST = frozenset(" /\\?#@")


class RewriteFailed(ValueError):
    """The pattern matched and the result is not a usable Host or request-target (ALB: 500)."""


def _compiled(rewrite: Rewrite | None) -> tuple[AlbRegex, str] | None:
    return None if rewrite is None else (compile_alb_regex(rewrite.regex), rewrite.replace)


def _usable_text(value: str) -> bool:
    return bool(value) and value.isascii() and value.isprintable() and " " not in value


@dataclass(frozen=True)
class RuleRewrites:
    host: tuple[AlbRegex, str] | None
    url: tuple[AlbRegex, str] | None

    @classmethod
    def of(cls, rule: Rule) -> RuleRewrites | None:
        if rule.host_header_rewrite is None and rule.url_rewrite is None:
            return None
        return cls(_compiled(rule.host_header_rewrite), _compiled(rule.url_rewrite))

    def host_for_target(self, host: str | None) -> str | None:
        """The Host the target receives (input: the one it would have received)."""
        if self.host is None or host is None:
            return host
        regex, replace = self.host
        out = regex.sub(replace, host)
        if out is None:
            return host
        if not _usable_text(out) or any(ch in _NOT_IN_HOST for ch in out):
            raise RewriteFailed(f"host-header-rewrite made {out!r}")
        return out

    def path_qs_for_target(self, path_qs: str, policy: PathPolicy) -> str:
        """The request-target (path and `?query`) the target receives, normalized again."""
        if self.url is None:
            return path_qs
        regex, replace = self.url
        out = regex.sub(replace, path_qs)
        if out is None:
            return path_qs
        if not _usable_text(out) or not out.startswith("/"):
            raise RewriteFailed(f"url-rewrite made {out!r}")
        try:
            normal = normalize_target(out, policy)
        except UnsafePath as exc:
            raise RewriteFailed(f"url-rewrite made {out!r}: {exc}") from None
        return out if normal.path_qs is None else normal.path_qs
