"""The three headers a target receives for an authenticated request (spec 5.1-5.2).

Signing ES256 costs far more than the rest of a forwarded request, so a signed
`x-amzn-oidc-data` is reused for one session for up to `reuse_seconds` (default 30 s): its
`exp` then stays between now+90 s and now+120 s. ALB is only inferred to re-sign on every
request (checklist 51); apps check `exp`, not its exact distance from now.

A cached header lives `reuse_seconds`, no longer: keyed by access token, a cache bounded by
count alone kept one entry per refresh (a 1,000-user soak with 30 s access tokens grew it
to 50,000 stale tokens, +155 MB per replica). It holds the `_CACHE_MAX` most recently used
(about 1 kB each): the sessions that send many requests stay signed, and a process that
sees more distinct sessions than that in one reuse period signs for some of them again,
which costs it ~28 µs for such a request rather than a kilobyte per session held."""

from __future__ import annotations

from albauth.clock import Clock
from albauth.lru import Lru
from albauth.session.model import Session
from albauth.signing.albjwt import AlbJwtSigner

ACCESS_TOKEN = "X-Amzn-Oidc-Accesstoken"
IDENTITY = "X-Amzn-Oidc-Identity"
DATA = "X-Amzn-Oidc-Data"

_CACHE_MAX = 1024


class IdentityHeaders:
    def __init__(self, signer: AlbJwtSigner, clock: Clock, *, reuse_seconds: int = 30) -> None:
        self.signer = signer
        self.clock = clock
        self.reuse_seconds = reuse_seconds
        # (sid, access token, issuer, client) -> (the headers, reusable until): a refresh
        # changes the access token and with it the claims, so the key moves on by itself.
        self._cache: Lru[tuple[str, str, str, str], tuple[tuple[tuple[str, str], ...], float]] = Lru(_CACHE_MAX)
        self._next_sweep = 0.0

    def for_session(self, session: Session, *, issuer: str, client_id: str) -> tuple[tuple[str, str], ...]:
        """The three headers, in ALB's order; the same tuple for a session's requests within
        a reuse period (built and signed once)."""
        now = self.clock()
        key = (session.sid, session.access_token, issuer, client_id)
        hit = self._cache.get(key)
        if hit is not None and now < hit[1]:
            return hit[0]
        token = self.signer.sign(session.claims, issuer=issuer, client_id=client_id, now=now)
        headers = ((ACCESS_TOKEN, session.access_token), (IDENTITY, str(session.claims.get("sub", ""))),
                   (DATA, token))
        if self.reuse_seconds > 0:
            if now >= self._next_sweep:
                self._drop_expired(now)  # once per reuse period: the cache holds the last period's
                self._next_sweep = now + self.reuse_seconds
            self._cache[key] = (headers, now + self.reuse_seconds)
        return headers

    def data(self, session: Session, *, issuer: str, client_id: str) -> str:
        """The signed `x-amzn-oidc-data`."""
        return self.for_session(session, issuer=issuer, client_id=client_id)[2][1]

    def _drop_expired(self, now: float) -> None:
        for key, (_, until) in self._cache.items():
            if now >= until:
                self._cache.pop(key)

    def cached(self) -> int:
        """Signed headers held (expired ones go at the next sweep, within a reuse period)."""
        return len(self._cache)
