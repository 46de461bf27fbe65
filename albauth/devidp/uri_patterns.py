"""Registered redirect URIs with `*` wildcards, e.g. `http://localhost:*/oauth2/idpresponse`.

RFC 6749 3.1.2.2 wants exact matching; a development IdP also needs "any port on
localhost" and "any host", because ALB's callback URL depends on where albauth runs.
So `*` is allowed, but kept narrow enough that a pattern can't be turned into an open
redirect: only what comes after a fixed host may be left fully open.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# A `*` stands for part of one component: never '/', '?', '#' (it can't swallow a path
# or a query) and never '@' (it can't turn `http://localhost:*` into
# `http://localhost:x@evil.example/`, whose real host is evil.example).
_STAR = r"[^/?#@\s]*"
# What may follow a pattern that ends at a fixed host (`https://*`, `http://127.0.0.1:*`)
# or ends in `/*` after the path began (`https://app.test/*`): any path and query.
_REST = r"(?:[/?#][^\s]*)?"
_PATH_REST = r"[^\s]*"

_ORIGIN_ONLY = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#]*$", re.IGNORECASE)
_AUTHORITY_END = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#]*", re.IGNORECASE)


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    tail = ""
    authority = _AUTHORITY_END.match(pattern)
    if _ORIGIN_ONLY.match(pattern):
        tail = _REST
    elif pattern.endswith("*") and authority and len(pattern) - 1 > authority.end():
        pattern, tail = pattern[:-1], _PATH_REST
    body = _STAR.join(re.escape(part) for part in pattern.split("*"))
    return re.compile(body + tail, re.DOTALL)


def uri_matches(uri: str, pattern: str) -> bool:
    if "*" not in pattern:
        return uri == pattern
    return _compile(pattern).fullmatch(uri) is not None


def uri_matches_any(uri: str, patterns: Iterable[str]) -> bool:
    return any(uri_matches(uri, p) for p in patterns)
