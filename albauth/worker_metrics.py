"""The admin `/metrics` of `albauth serve --workers N`: the workers' expositions added up.

Every sample is summed by name and labels: counters and histogram buckets, sums and
counts add up exactly; a gauge becomes the total over the workers (connections, say).
Per-worker series stay apart by their `pid` label (albauth_worker_requests).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["sum_metrics"]


def sum_metrics(texts: Iterable[str]) -> tuple[bytes, str]:
    """(body, content type) of the sum of these Prometheus text expositions."""
    families: dict[str, Metric] = {}
    values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            families.setdefault(family.name, family)
            into = values.setdefault(family.name, {})
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                into[key] = into.get(key, 0.0) + sample.value
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Summed(families, values))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Summed:
    def __init__(self, families: dict[str, Metric],
                 values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]) -> None:
        self.families = families
        self.values = values

    def collect(self) -> Iterator[Metric]:
        for name, first in self.families.items():
            summed = Metric(name, first.documentation, first.type, first.unit)
            for (sample_name, labels), value in self.values[name].items():
                summed.add_sample(sample_name, dict(labels), value)
            yield summed
