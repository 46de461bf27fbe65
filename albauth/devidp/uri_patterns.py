"""Registered redirect URIs with `*` wildcards, e.g. `http://localhost:*/oauth2/idpresponse`.

RFC 6749 3.1.2.2 wants exact matching; a development IdP also needs "any port on
localhost" and "any host", because ALB's callback URL depends on where albauth runs.
So `*` is allowed, but kept narrow enough that a pattern can't be turned into an open
redirect.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

# A `*` stands for part of one component: never '/', '?', '#' (it can't swallow a path
# or a query) and never '@' (it can't turn `http://localhost:*` into
# `http://localhost:x@evil.example/` whose real host is evil.example).
_STAR = r"[^/?#@\s]*"

_ORIGIN_ONLY = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#]*$", re.IGNORECASE)


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    body = _STAR.join(re.escape(part) for part in pattern.split("*"))
    if _ORIGIN_ONLY.match(pattern):
        # A bare origin (`https://*`, `http://127.0.0.1:*`) allows any path on that
        # origin: that's how post-logout patterns are written.
        body += r"(?:[/?#].*)?"
    return re.compile(body, re.DOTALL)


def uri_matches(uri: str, pattern: str) -> bool:
    if "*" not in pattern:
        return uri == pattern
    return _compile(pattern).fullmatch(uri) is not None


def uri_matches_any(uri: str, patterns: Iterable[str]) -> bool:
    return any(uri_matches(uri, p) for p in patterns)
