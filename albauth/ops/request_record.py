"""What one request did, noted by the parts that handled it (the listener: rule and action;
the forwarder: target, timings, target status), for its access-log line and its metrics.

The lowest layer: it imports nothing from albauth, so the listener, the forwarder and the
authenticate action can all write into it. The record travels on the request (aiohttp's
request mapping); values known when a response is made (ALB's `error_reason`,
`redirect_url`) travel on the response."""

from __future__ import annotations

import time
from itertools import chain

from aiohttp import web

__all__ = ["ERROR_REASON", "RECORD", "REDIRECT_URL", "RequestRecord", "header_fields_bytes", "note_error_reason",
           "record_of"]



class RequestRecord:
    """Times are `time.perf_counter()` readings except `created`, a wall-clock time
    (ALB's request_creation_time). None: the step did not happen (logged `-` / `-1`)."""

    __slots__ = ("actions", "created", "rule_priority", "started", "target", "target_connect_failed",
                 "target_group", "target_responded", "target_sent", "target_status", "trace_id")

    def __init__(self) -> None:
        self.created = time.time()
        self.started = time.perf_counter()
        self.rule_priority: int | None = None  # 0: the default rule, as ALB logs it
        self.actions: str | None = None  # ALB's actions_executed, e.g. "authenticate,forward"
        self.target_group: str | None = None
        self.target: str | None = None  # host:port
        self.target_sent: float | None = None
        self.target_responded: float | None = None  # the target's response head arrived
        self.target_status: int | None = None
        self.target_connect_failed = False
        self.trace_id: str | None = None  # the X-Amzn-Trace-Id the target received

    def note_rule(self, priority: int | None, authenticate: bool, action: str) -> None:
        self.rule_priority = 0 if priority is None else priority
        self.actions = f"authenticate,{action}" if authenticate else action

    def note_target(self, host_port: str, trace_id: str | None) -> None:
        self.target = host_port
        self.trace_id = trace_id
        self.target_sent = time.perf_counter()

    def note_target_response(self, status: int) -> None:
        self.target_responded = time.perf_counter()
        self.target_status = status


RECORD = web.RequestKey("albauth_record", RequestRecord)
ERROR_REASON = web.ResponseKey("albauth_error_reason", str)
REDIRECT_URL = web.ResponseKey("albauth_redirect_url", str)


def record_of(request: web.BaseRequest) -> RequestRecord | None:
    """The request's record; None for a request no listener handler saw (refused early)."""
    try:
        return request[RECORD]  # not .get(): Mapping.get adds two Python calls per lookup
    except KeyError:
        return None


def header_fields_bytes(request: web.BaseRequest) -> int:
    """The header field lines as they came: `name: value` and CRLF each."""
    raw = request.raw_headers
    return sum(map(len, chain.from_iterable(raw))) + 4 * len(raw)  # no Python-level loop


def note_error_reason(response: web.StreamResponse, error_reason: str | None) -> None:
    if error_reason:
        response[ERROR_REASON] = error_reason
