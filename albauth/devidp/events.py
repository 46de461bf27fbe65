"""A record of every call to the provider, so tests can assert on traffic
("ALB refreshed exactly once", "the token call used client_secret_post")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Endpoint = Literal["token", "userinfo", "authorize", "logout"]
ClientAuth = Literal["client_secret_basic", "client_secret_post"]

# Never kept in the record: a user's password typed into the login form.
_SECRET_PARAMS = frozenset({"password"})


@dataclass(frozen=True)
class IdpEvent:
    endpoint: Endpoint
    grant_type: str | None
    client_auth: ClientAuth | None
    params: dict[str, str]
    status: int


def client_auth_of(headers: Mapping[str, str], params: Mapping[str, str]) -> ClientAuth | None:
    """How the caller tried to authenticate, judged from the request itself so that
    failed attempts are classified too."""
    if headers.get("Authorization", "").lower().startswith("basic "):
        return "client_secret_basic"
    if "client_secret" in params:
        return "client_secret_post"
    return None


def recorded_params(params: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k not in _SECRET_PARAMS}
