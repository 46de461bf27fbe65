"""What a session store can fail with. The authenticate action maps each to ALB's answer in
one place (albauth.auth.errors.store_failure): a verdict on the cookie is "log in again",
a store that cannot do its job fails closed and never forwards."""

from __future__ import annotations

__all__ = ["RevocationUnsupported", "SessionInvalid", "SessionStoreError", "SessionStoreUnavailable",
           "SessionTooLarge"]


class SessionInvalid(Exception):
    """Session cookies are present but unusable: tampered, truncated, minted for another
    rule binding, or naming a session the server no longer has. The caller treats it as
    "log in again" (and expires the cookies)."""


class SessionStoreError(Exception):
    """The store could not do what was asked; not a verdict on the session."""


class SessionStoreUnavailable(SessionStoreError, ConnectionError):
    """The backing service (Redis) did not answer, timed out or refused the command: the
    caller fails closed with ALB's 503."""


class SessionTooLarge(SessionStoreError, ValueError):
    """The sealed session needs more than the 4 shards ALB allows (ALB: 500)."""


class RevocationUnsupported(SessionStoreError):
    """The store keeps no session on the server (the cookie store), so none can be ended
    there."""
