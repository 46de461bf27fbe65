"""ALB's regular expressions (condition `RegexValues`, transform `Regex`) in linear time.

Every pattern is compiled once, when the configuration loads, with RE2 (`google-re2`): RE2
matches in time linear in the subject, so a hostile 16 KB path cannot hold the event loop the
way a backtracking engine (Python's `re`) can with `(a+)+$`. ALB documents that its regular
expressions lack lookaheads, lookbehinds, backreferences, atomic groups, possessive
quantifiers, subroutines, recursion and Unicode character classes such as `\\p{L}`: RE2 refuses
all but the last by itself, and `\\p`/`\\P` are refused here so a pattern that loads in
albauth loads in ALB.

Matching is a search (unanchored), as with any regular expression engine: ALB's documented
examples anchor explicitly (`^(.+)\\.example\\.com$`) where they mean the whole value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import re2

__all__ = ["AlbRegex", "RegexRefused", "compile_alb_regex"]

# `\p{L}`, `\PL`: a Unicode class (ALB refuses them). An escaped backslash before `p` is not one.
_UNICODE_CLASS = re.compile(r"(?<!\\)(?:\\\\)*\\[pP]")
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is reported by the configuration, not logged by RE2


class RegexRefused(ValueError):
    """The pattern is not one ALB (or RE2) accepts; the message says why."""


@dataclass(frozen=True)
class AlbRegex:
    """One compiled pattern: `search(value)` and `sub(replace, value)` in linear time."""

    pattern: str
    _compiled: Any  # re2._Regexp: google-re2 ships no type information

    def search(self, value: str) -> bool:
        return self._compiled.search(value) is not None

    def sub(self, replace: str, value: str) -> str | None:
        """The first match replaced (RE2's Replace), or None when nothing matches; `replace`
        in ALB's syntax: `$1`..`$9` name capture groups."""
        if self._compiled.search(value) is None:
            return None
        return str(self._compiled.sub(_re2_template(replace), value, 1))


def _re2_template(replace: str) -> str:
    """ALB's `$1` groups in RE2's Python syntax (`\\1`); a backslash is literal in ALB's."""
    out: list[str] = []
    i = 0
    while i < len(replace):
        ch = replace[i]
        if ch == "$" and i + 1 < len(replace) and replace[i + 1].isdigit():
            out.append(f"\\g<{replace[i + 1]}>")
            i += 2
            continue
        if ch == "$" and replace[i + 1:i + 2] == "$":
            out.append("$")
            i += 2
            continue
        out.append("\\\\" if ch == "\\" else ch)
        i += 1
    return "".join(out)


def compile_alb_regex(pattern: str) -> AlbRegex:
    """Raises RegexRefused with the reason when ALB or RE2 would not take the pattern."""
    if _UNICODE_CLASS.search(pattern):
        raise RegexRefused("Unicode character classes (\\p{...}) are not supported by ALB")
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RegexRefused(f"not a regular expression ALB accepts ({reason}; lookarounds, "
                           "backreferences, atomic groups, possessive quantifiers and recursion "
                           "are not supported)") from None
    return AlbRegex(pattern, compiled)
