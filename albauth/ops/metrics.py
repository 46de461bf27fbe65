"""Counters named after ALB's CloudWatch metrics (spec 6.3), in Prometheus form.

Each Runtime has its own registry, so two albauth instances in one process (tests, `albauth
dev`) never share counts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

AUTH_COUNTERS = (
    "ELBAuthError",
    "ELBAuthFailure",
    "ELBAuthSuccess",
    "ELBAuthRefreshTokenSuccess",
    "ELBAuthUserClaimsSizeExceeded",
)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._auth = {
            name: Counter(f"albauth_{_snake(name)}", f"ALB's {name}", registry=self.registry)
            for name in AUTH_COUNTERS
        }
        self.auth_latency = Histogram(
            "albauth_elb_auth_latency_seconds",
            "ALB's ELBAuthLatency: time spent querying the IdP for the ID token and user info",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.error_reasons = Counter("albauth_auth_error_reason", "authentication errors by ALB error_reason",
                                     ["error_reason"], registry=self.registry)

    def count(self, name: str) -> None:
        self._auth[name].inc()

    def value(self, name: str) -> float:
        return float(self._auth[name]._value.get())  # noqa: SLF001 - read back for tests and the demo

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace("e_l_b", "elb")
