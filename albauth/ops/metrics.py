"""albauth's metrics: ALB's CloudWatch metrics (spec 6.3) in Prometheus form, plus the few
ALB has no name for (session store, refreshes, configuration generation).

One naming rule for all (README, "Operating albauth"): the CloudWatch name in snake case
(an acronym is one word: `ELBAuthError` -> `elb_auth_error`, `HTTPCode_ELB_4XX_Count` ->
`http_code_elb_4xx_count`), prefixed `albauth_`; a counter ends in `_total`, a histogram of
durations in `_seconds`, a gauge has no suffix. Labels come from the configuration
(listener port, rule priority, target group name), so their sets are bounded.

Each Runtime has its own registry, so two albauth instances in one process (tests, `albauth
dev`) never share counts."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

__all__ = ["AUTH_COUNTERS", "ConnectionStats", "Metrics", "Tally", "prometheus_name", "snake_case"]

AUTH_COUNTERS = (
    "ELBAuthError",
    "ELBAuthFailure",
    "ELBAuthSuccess",
    "ELBAuthRefreshTokenSuccess",
    "ELBAuthUserClaimsSizeExceeded",
)
ELB_CODE_CLASSES = ("3XX", "4XX", "5XX")  # ALB counts no HTTPCode_ELB_2XX
TARGET_CODE_CLASSES = ("2XX", "3XX", "4XX", "5XX")
_TIME_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
# A word starts at a capital after a lower-case letter (AuthError), or at the last capital
# of an acronym before a capitalised word (HTTPCode -> HTTP_Code); "4XX" stays one word.
_WORD_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z0-9])(?=[A-Z][a-z])")


# A `_created` series beside every counter doubles what a scrape carries and no ALB
# dashboard has a use for it.
disable_created_metrics()  # type: ignore[no-untyped-call]


def snake_case(cloudwatch_name: str) -> str:
    return _WORD_BOUNDARY.sub("_", cloudwatch_name).lower()


def prometheus_name(cloudwatch_name: str, kind: str = "counter") -> str:
    """The name as /metrics shows it: kind is counter, seconds (a duration histogram) or gauge."""
    base = f"albauth_{snake_case(cloudwatch_name)}"
    return {"counter": f"{base}_total", "seconds": f"{base}_seconds", "gauge": base}[kind]


def _family(cloudwatch_name: str) -> str:
    # prometheus_client adds `_total` to a counter itself.
    return f"albauth_{snake_case(cloudwatch_name)}"


@dataclass(frozen=True)
class ConnectionStats:
    """One listener's client connections, read at scrape time (no cost per connection)."""

    listener: str  # the port
    active: int
    accepted: int
    refused: int


class _ConnectionCollector(Collector):
    def __init__(self, stats: Callable[[], Sequence[ConnectionStats]]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        active = GaugeMetricFamily(_family("ActiveConnectionCount"), "ALB's ActiveConnectionCount: open "
                                   "client connections", labels=["listener"])
        new = CounterMetricFamily(_family("NewConnectionCount"), "ALB's NewConnectionCount: client "
                                  "connections accepted", labels=["listener"])
        rejected = CounterMetricFamily(_family("RejectedConnectionCount"), "ALB's RejectedConnectionCount: "
                                       "connections closed at once at max_connections", labels=["listener"])
        for s in self.stats():
            active.add_metric([s.listener], s.active)
            new.add_metric([s.listener], s.accepted)
            rejected.add_metric([s.listener], s.refused)
        yield from (active, new, rejected)


class Tally:
    """Per-request counts kept as plain numbers and handed to their Prometheus children
    when the metrics are read: a child's `inc()` is three Python calls and a lock, which
    one event loop does not need per request. (Histograms observe directly: deferring an
    observation saves nothing.)"""

    def __init__(self) -> None:
        self.counts: defaultdict[Counter, float] = defaultdict(float)  # child -> amount

    def flush(self) -> None:
        counts, self.counts = self.counts, defaultdict(float)
        for child, amount in counts.items():
            child.inc(amount)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.tally = Tally()  # the request path's counts, flushed before every read
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._auth = {name: Counter(_family(name), f"ALB's {name}", registry=r) for name in AUTH_COUNTERS}
        self.auth_latency = Histogram(
            _family("ELBAuthLatency"),
            "ALB's ELBAuthLatency: time spent querying the IdP for the ID token and user info",
            registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), unit="seconds")
        self.error_reasons = Counter(_family("AuthErrorReason"), "authentication errors by ALB error_reason",
                                     ["error_reason"], registry=r)
        self._traffic(r)
        self.store_latency = Histogram(_family("SessionStoreLatency"), "session store calls by operation",
                                       ["operation"], registry=r, buckets=_STORE_BUCKETS, unit="seconds")
        self.store_errors = Counter(_family("SessionStoreErrorCount"), "session store calls that failed",
                                    ["operation"], registry=r)
        self.refreshes = Counter(_family("RefreshCount"), "expired access tokens refreshed, by outcome "
                                 "(success, provider_refused: back to the provider, store_error)",
                                 ["outcome"], registry=r)
        self.config_generation = Gauge(_family("ConfigGeneration"), "the configuration in force: 1 at start, "
                                       "+1 per applied reload", registry=r)
        self.config_reloads = Counter(_family("ConfigReloadCount"), "reloads by result (applied, rejected)",
                                      ["result"], registry=r)

    def _traffic(self, r: CollectorRegistry) -> None:
        self.requests = Counter(_family("RequestCount"), "ALB's RequestCount: requests (and WebSocket "
                                "connections) answered", ["listener", "rule", "target_group"], registry=r)
        self.elb_codes = {c: Counter(_family(f"HTTPCode_ELB_{c}_Count"), f"ALB's HTTPCode_ELB_{c}_Count: "
                                     f"{c} answers albauth made itself", ["listener"], registry=r)
                          for c in ELB_CODE_CLASSES}
        self.target_codes = {c: Counter(_family(f"HTTPCode_Target_{c}_Count"), f"ALB's HTTPCode_Target_{c}"
                                        f"_Count: {c} answers from targets", ["listener", "target_group"],
                                        registry=r)
                             for c in TARGET_CODE_CLASSES}
        self.target_response_time = Histogram(
            _family("TargetResponseTime"), "ALB's TargetResponseTime: request sent to the target until "
            "its response head arrived", ["target_group"], registry=r, buckets=_TIME_BUCKETS, unit="seconds")
        self.target_connection_errors = Counter(
            _family("TargetConnectionErrorCount"), "ALB's TargetConnectionErrorCount: connections to a "
            "target that could not be established", ["target_group"], registry=r)
        self.processed_bytes = Counter(_family("ProcessedBytes"), "ALB's ProcessedBytes: bytes received "
                                       "from and sent to clients", ["listener"], registry=r)

    def watch_connections(self, stats: Callable[[], Sequence[ConnectionStats]]) -> None:
        self.registry.register(_ConnectionCollector(stats))

    def count(self, name: str) -> None:
        self._auth[name].inc()

    def value(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples (those with `labels`), by its CloudWatch name or
        its Prometheus name; for tests and the demo, not a hot path."""
        self.tally.flush()
        wanted = {name, prometheus_name(name), prometheus_name(name, "gauge")} if name[:1].isupper() else {name}
        return sum(s.value for s in _samples(self.registry.collect())
                   if s.name in wanted and all(s.labels.get(k) == v for k, v in labels.items()))

    def render(self) -> bytes:
        self.tally.flush()
        return generate_latest(self.registry)


def _samples(families: Iterable[Metric]) -> Iterator[Sample]:
    for family in families:
        yield from family.samples
