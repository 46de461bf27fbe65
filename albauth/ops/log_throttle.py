"""Rate-limited failure logging: while a dependency (Redis, the provider) is down, every
request fails the same way, and a traceback per request buried the logs (issue 14: 3.4 KB
a request, 20 MB from two replicas in a 10 s outage).

The first failure of a kind is logged with its traceback; then at most one line per kind
per `interval`, carrying how many were left out since the last line. A kind that stayed
quiet for a whole interval starts over (the next failure is a new incident)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LogThrottle"]

_MAX_KINDS = 256  # kinds are a handful of call sites times exception types


@dataclass
class _Kind:
    last_logged: float
    last_seen: float
    suppressed: int = 0


class LogThrottle:
    def __init__(self, logger: logging.Logger, *, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._kinds: dict[tuple[str, str], _Kind] = {}

    def failure(self, message: str, exc: BaseException | None = None, *,
                level: int = logging.ERROR) -> None:
        """Log `message` (and `exc`) unless this kind was logged less than `interval` ago."""
        now = self.clock()
        key = (message, type(exc).__name__ if exc is not None else "")
        kind = self._kinds.get(key)
        if kind is None or (kind.suppressed == 0 and now - kind.last_seen >= self.interval):
            self._first(key, message, exc, level, now)
            return
        kind.last_seen = now
        if now - kind.last_logged < self.interval:
            kind.suppressed += 1
            return
        self.logger.log(level, "%s: %s (again; %d more like it in the last %.0f s)", message,
                        _summary(exc), kind.suppressed, now - kind.last_logged)
        kind.last_logged, kind.suppressed = now, 0

    def _first(self, key: tuple[str, str], message: str, exc: BaseException | None, level: int,
               now: float) -> None:
        if key not in self._kinds and len(self._kinds) >= _MAX_KINDS:
            self._kinds.pop(next(iter(self._kinds)))
        self._kinds[key] = _Kind(last_logged=now, last_seen=now)
        self.logger.log(level, "%s", message, exc_info=exc)


def _summary(exc: BaseException | None) -> str:
    if exc is None:
        return "-"
    return f"{type(exc).__name__}: {exc}"[:300]
