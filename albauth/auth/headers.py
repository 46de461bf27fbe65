"""The three headers a target receives for an authenticated request (spec 5.1-5.2).

Signing ES256 costs far more than the rest of a forwarded request, so a signed
`x-amzn-oidc-data` is reused for one session for up to `reuse_seconds` (default 30 s): its
`exp` then stays between now+90 s and now+120 s. ALB is only inferred to re-sign on every
request (checklist 51); apps check `exp`, not its exact distance from now.

A cached header lives `reuse_seconds`, no longer: keyed by access token, a cache bounded by
count alone kept one entry per refresh (a 1,000-user soak with 30 s access tokens grew it
to 50,000 stale tokens, +155 MB per replica)."""

from __future__ import annotations

from albauth.clock import Clock
from albauth.session.model import Session
from albauth.signing.albjwt import AlbJwtSigner

ACCESS_TOKEN = "X-Amzn-Oidc-Accesstoken"
IDENTITY = "X-Amzn-Oidc-Identity"
DATA = "X-Amzn-Oidc-Data"

_CACHE_MAX = 50_000


class IdentityHeaders:
    def __init__(self, signer: AlbJwtSigner, clock: Clock, *, reuse_seconds: int = 30) -> None:
        self.signer = signer
        self.clock = clock
        self.reuse_seconds = reuse_seconds
        # (sid, access token, issuer, client) -> (signed token, reusable until): a refresh
        # changes the access token and with it the claims, so the key moves on by itself.
        # A plain dict, not a TTLCache: this lookup runs on every authenticated request.
        self._cache: dict[tuple[str, str, str, str], tuple[str, float]] = {}
        self._next_sweep = 0.0

    def for_session(self, session: Session, *, issuer: str, client_id: str) -> list[tuple[str, str]]:
        return [
            (ACCESS_TOKEN, session.access_token),
            (IDENTITY, str(session.claims.get("sub", ""))),
            (DATA, self.data(session, issuer=issuer, client_id=client_id)),
        ]

    def data(self, session: Session, *, issuer: str, client_id: str) -> str:
        now = self.clock()
        key = (session.sid, session.access_token, issuer, client_id)
        hit = self._cache.get(key)
        if hit is not None and now < hit[1]:
            return hit[0]
        token = self.signer.sign(session.claims, issuer=issuer, client_id=client_id, now=now)
        if self.reuse_seconds > 0:
            if now >= self._next_sweep or len(self._cache) >= _CACHE_MAX:
                # Once per reuse period: what the cache holds is the last period's sessions.
                self._drop_expired(now)
                self._next_sweep = now + self.reuse_seconds
            self._cache[key] = (token, now + self.reuse_seconds)
        return token

    def _drop_expired(self, now: float) -> None:
        """Expired entries go first; if all are live, the oldest half (dicts keep insertion
        order), so a flood of sessions costs a re-signature, never unbounded memory."""
        live = {k: v for k, v in self._cache.items() if now < v[1]}
        if len(live) >= _CACHE_MAX:
            live = dict(list(live.items())[len(live) // 2:])
        self._cache = live

    def cached(self) -> int:
        """Signed headers held (expired ones go at the next sweep, within a reuse period)."""
        return len(self._cache)
