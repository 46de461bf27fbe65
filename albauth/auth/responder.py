"""How the authenticate action and its routes answer a failure: ALB's error page, the
CloudWatch-named metric, the access-log error_reason, one log line."""

from __future__ import annotations

import logging

from aiohttp import web

from albauth.auth.errors import store_failure
from albauth.error_pages import AlbError, alb_error_response
from albauth.ops.log_throttle import LogThrottle
from albauth.ops.metrics import Metrics
from albauth.ops.request_record import note_error_reason
from albauth.session.errors import SessionStoreError

__all__ = ["ErrorResponder"]

log = logging.getLogger("albauth.auth")


class ErrorResponder:
    def __init__(self, metrics: Metrics, *, expose_error_reason: bool = False,
                 failures: LogThrottle | None = None) -> None:
        self.metrics = metrics
        self.expose_error_reason = expose_error_reason
        # While the store is down every request fails alike: the first failure with its
        # traceback, then a line per interval with a count, not a traceback per request.
        self.failures = failures or LogThrottle(log)

    def error_response(self, status: int, error_reason: str | None, metric: str | None) -> web.Response:
        if metric:
            self.metrics.count(metric)
        if error_reason:
            self.metrics.error_reasons.labels(error_reason).inc()
            log.info("authentication answered %d error_reason=%s", status, error_reason)
        resp = alb_error_response(status, error_reason=error_reason, expose_reason=self.expose_error_reason)
        note_error_reason(resp, error_reason)  # the access log's error_reason
        return resp

    def error_from(self, exc: AlbError) -> web.Response:
        return self.error_response(exc.status, exc.error_reason, exc.metric)

    def store_failed(self, exc: SessionStoreError, during: str) -> web.Response:
        """The store failed: ALB's answer for it (a 503 fails closed)."""
        self.failures.failure(f"session store failed during {during}", exc)
        return self.error_from(store_failure(exc))
