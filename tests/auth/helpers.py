"""Small helpers the relying-party tests share: ALB's three error fields, and hand-built
JWS compact tokens (for the `alg: none` and HMAC key-confusion cases joserfc refuses to make)."""

from __future__ import annotations

import base64
import json
from typing import Any

from albauth.error_pages import AlbError


def assert_alb(exc: AlbError, status: int, reason: str, metric: str) -> None:
    assert (exc.status, exc.error_reason, exc.metric) == (status, reason, metric)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_jwt(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."
