"""ALB's jwt-validation action in forward-auth mode: the bearer token the controller passes on
is checked as the listener checks it, and a refusal is the controller's answer too."""

from __future__ import annotations

from typing import Any

from albauth.clock import FakeClock
from tests.auth.test_jwt_validation import ISSUER, Jwks, jwks, token

from .conftest import StartFa

__all__ = ["jwks"]


def api_rule(jwks_url: str) -> dict[str, Any]:
    return {"Priority": 1, "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}],
            "Actions": [{"Type": "jwt-validation", "Order": 1,
                         "JwtValidationConfig": {"JwksEndpoint": jwks_url, "Issuer": ISSUER}},
                        {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}]}


async def test_bearer_token_is_checked_on_the_subrequest(start_fa: StartFa, jwks: Jwks, clock: FakeClock) -> None:
    alb = await start_fa(rules=[api_rule(jwks.url)])
    valid = token(iat=int(clock()), exp=int(clock()) + 300)  # albauth runs on the test's clock
    report = {"X-Forwarded-Uri": "/api/x", "X-Forwarded-Method": "GET", "X-Forwarded-Host": "app.test"}
    async with alb.http.get(f"{alb.url}/oauth2/auth", headers=report) as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    async with alb.http.get(f"{alb.url}/oauth2/auth", headers={**report, "Authorization": "Bearer nope"}) as resp:
        assert resp.status == 401
    async with alb.http.get(f"{alb.url}/oauth2/auth",
                            headers={**report, "Authorization": f"Bearer {valid}"}) as resp:
        assert resp.status == 200
