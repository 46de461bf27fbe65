"""Sessions to store and a browser's cookie jar to carry them, shared by the session tests."""

from __future__ import annotations

import base64
import os
from dataclasses import replace
from typing import Any

from albauth.session import Session, binding_for

SECRET = "correct-horse-battery-staple-0123456789"
OLD_SECRET = "an-older-secret-still-accepted-for-a-while"
T0 = 1_700_000_000.0
NAME = "AWSELBAuthSessionCookie"
ISSUER = "https://idp.test"
BINDING = binding_for(NAME, ISSUER, "app")
OTHER_BINDING = binding_for(NAME, ISSUER, "other-app")


def jwt_like(size: int) -> str:
    """An access-token-shaped string: base64url of random bytes, so it compresses only to
    ~3/4 (its 6 bits per character), like a real signed JWT."""
    return base64.urlsafe_b64encode(os.urandom(size * 3 // 4 + 3)).decode()[:size]


def make_session(access_token_size: int = 1200, **changes: Any) -> Session:
    # Claims in a deliberately non-alphabetical IdP order, with JSON types that must survive.
    claims = {"sub": "2f1c0c8e-user", "name": "Zoë Ørsted", "email_verified": "true",
              "email": "zoe@example.test", "groups": ["a", "b"], "age": 41, "admin": False,
              "picture": None}
    session = Session(sid=Session.new_sid(), binding=BINDING, claims=claims,
                      access_token=jwt_like(access_token_size), refresh_token=jwt_like(400),
                      access_token_expires_at=T0 + 3600.5, authenticated_at=T0,
                      expires_at=T0 + 604800, idp_sid="idp-session-1")
    return replace(session, **changes)


def cookie_pairs(set_cookies: list[str]) -> list[tuple[str, str, str]]:
    """(name, value, attributes) for each Set-Cookie value."""
    out = []
    for header in set_cookies:
        pair, _, attrs = header.partition(";")
        name, _, value = pair.partition("=")
        out.append((name, value, attrs))
    return out


def apply(jar: dict[str, str], set_cookies: list[str]) -> dict[str, str]:
    """What a browser's jar holds after receiving `set_cookies` (Max-Age=0 deletes)."""
    jar = dict(jar)
    for name, value, attrs in cookie_pairs(set_cookies):
        if "Max-Age=0" in attrs:
            jar.pop(name, None)
        else:
            jar[name] = value
    return jar


def shards_of(jar: dict[str, str], name: str = NAME) -> list[str]:
    return sorted(k for k in jar if k.startswith(f"{name}-"))
