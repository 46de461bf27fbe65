"""What happens once a response is out: one listener's request metrics and, when enabled,
its access-log line. aiohttp calls `ObserverHook.log` after the last byte of a response
(for a WebSocket: when the connection ends, as ALB logs a WebSocket connection once), so
the byte counts and times are final.

The hot path only counts; the access-log line is built only when an access log is on."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Callable
from typing import Any, cast

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from prometheus_client import Counter

from albauth.ops.access_log import AccessEntry, format_alb, format_json, iso_time, quoted, redact_query
from albauth.ops.log_sink import LineSink
from albauth.ops.metrics import Metrics
from albauth.ops.request_record import ERROR_REASON, REDIRECT_URL, RequestRecord, record_of

__all__ = ["AccessLog", "ListenerObserver", "ObserverHook", "default_elb_name"]


def default_elb_name() -> str:
    """ALB's `elb` field is `app/<name>/<id>`: albauth's id is stable per host."""
    return f"app/albauth/{hashlib.sha256(socket.gethostname().encode()).hexdigest()[:16]}"


class AccessLog:
    """The format (alb or json), the sink, the `elb` name every line carries."""

    def __init__(self, fmt: str, sink: LineSink, elb: str | None = None) -> None:
        self.render: Callable[[AccessEntry], str] = format_json if fmt == "json" else format_alb
        self.sink = sink
        self.elb = elb or default_elb_name()


def _code_class(status: int) -> str:
    return f"{status // 100}XX"


_UNHANDLED = RequestRecord()  # stands for the record of a request no handler saw; never written to


class ListenerObserver:
    def __init__(self, metrics: Metrics, port: int, https: bool, access_log: AccessLog | None) -> None:
        self.metrics = metrics
        self.listener = str(port)
        self.https = https
        self.access_log = access_log
        self._requests: dict[tuple[str, str], Counter] = {}
        self._bytes = metrics.processed_bytes.labels(self.listener)
        self._elb = {c: m.labels(self.listener) for c, m in metrics.elb_codes.items()}
        self._groups: dict[str, _GroupMetrics] = {}
        self._scheme = "https" if https else "http"
        self._kind = self._scheme  # ALB's `type`; ws/wss for a WebSocket connection

    def finished(self, request: web.BaseRequest, response: web.StreamResponse, conn_id: Callable[[], str]) -> None:
        record = record_of(request)
        if record is None:  # refused before a listener handler ran (a malformed request)
            record = _UNHANDLED
        rule = "-" if record.rule_priority is None else str(record.rule_priority)
        group = record.target_group or "-"
        counter = self._requests.get((rule, group))
        if counter is None:
            counter = self._requests[(rule, group)] = self.metrics.requests.labels(self.listener, rule, group)
        counter.inc()
        received = _received_bytes(request)
        sent = response.body_length
        self._bytes.inc(received + sent)
        if record.target_status is not None:
            self._target(group).count(record)
        elif response.status >= 300:
            elb = self._elb.get(_code_class(response.status))
            if elb is not None:
                elb.inc()
        if record.target_connect_failed:
            self._target(group).connection_errors.inc()
        if self.access_log is not None:
            line = self.access_log.render(self.entry(request, response, record, received, sent, conn_id()))
            self.access_log.sink.write(line)

    def _target(self, group: str) -> _GroupMetrics:
        found = self._groups.get(group)
        if found is None:
            found = self._groups[group] = _GroupMetrics(self.metrics, self.listener, group)
        return found

    def entry(self, request: web.BaseRequest, response: web.StreamResponse, record: RequestRecord,
              received: int, sent: int, conn_id: str) -> AccessEntry:
        now = time.time()
        transport = request.transport
        tls = transport.get_extra_info("ssl_object") if self.https and transport is not None else None
        status = response.status
        kind = self._kind if status != 101 else ("wss" if self.https else "ws")
        target = record.target or "-"
        target_status = str(record.target_status) if record.target_status else "-"
        redirect = response.get(REDIRECT_URL)
        assert self.access_log is not None
        return (
            kind, iso_time(now), self.access_log.elb, _client(request), target,
            *_processing_times(record, time.perf_counter()),
            str(status), target_status, str(received), str(sent),
            quoted(self._request_line(request)), quoted(request.headers.get("User-Agent")),
            tls.cipher()[0] if tls is not None else "-", tls.version() if tls is not None else "-",
            record.target_group or "-", quoted(record.trace_id), "-", "-",
            "-" if record.rule_priority is None else str(record.rule_priority),
            iso_time(record.created if record is not _UNHANDLED else now), quoted(record.actions),
            quoted(redact_query(redirect)) if redirect else "-", quoted(response.get(ERROR_REASON)),
            target, target_status, "-", "-", conn_id,
        )

    def _request_line(self, request: web.BaseRequest) -> str:
        host = request.headers.get("Host") or "-"
        if host[-1:] != "]":  # not a bare IPv6 literal: drop the port, ALB writes the listener's
            host = host.partition(":")[0] if host.count(":") == 1 else host
        version = request.version
        return (f"{request.method} {self._scheme}://{host}:{self.listener}{redact_query(request.raw_path)} "
                f"HTTP/{version.major}.{version.minor}")


class _GroupMetrics:
    """One target group's metric children, looked up once."""

    def __init__(self, metrics: Metrics, listener: str, group: str) -> None:
        self.codes = {c: m.labels(listener, group) for c, m in metrics.target_codes.items()}
        self.response_time = metrics.target_response_time.labels(group)
        self.connection_errors = metrics.target_connection_errors.labels(group)

    def count(self, record: RequestRecord) -> None:
        assert record.target_status is not None
        codes = self.codes.get(_code_class(record.target_status))
        if codes is not None:
            codes.inc()
        if record.target_sent is not None and record.target_responded is not None:
            self.response_time.observe(record.target_responded - record.target_sent)


def _processing_times(record: RequestRecord, now: float) -> tuple[str, str, str]:
    """ALB: each is -1 when the request could not be dispatched to a target (never
    reached one, or the target did not answer); an answer albauth made itself (redirect,
    fixed response, login) has its time as request_processing_time and 0 for the others."""
    if record is _UNHANDLED or (record.target_sent is not None and record.target_responded is None):
        return "-1", "-1", "-1"
    if record.target_sent is None or record.target_responded is None:
        return f"{now - record.started:.3f}", "0.000", "0.000"
    return (f"{record.target_sent - record.started:.3f}", f"{record.target_responded - record.target_sent:.3f}",
            f"{now - record.target_responded:.3f}")


def _client(request: web.BaseRequest) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return f"{request.remote or '-'}:0"


def _received_bytes(request: web.BaseRequest) -> int:
    """ALB counts the request as it came, headers included: the request line, each header
    line, the blank line, the body read."""
    head = len(request.method) + len(request.raw_path) + 12
    head += sum(len(k) + len(v) + 4 for k, v in request.raw_headers) + 2
    return head + request.content.total_bytes


class ObserverHook(AbstractAccessLogger):
    """aiohttp's per-connection access-logger slot; `logger` is the listener's observer."""

    __slots__ = ("_conn_id",)

    def __init__(self, logger: Any, log_format: str) -> None:
        super().__init__(logger, log_format)
        self._conn_id = ""

    def conn_id(self) -> str:
        # ALB's conn_trace_id: one id per client connection, made when a line needs it.
        if not self._conn_id:
            self._conn_id = f"TID_{os.urandom(8).hex()}"
        return self._conn_id

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        cast(ListenerObserver, self.logger).finished(request, response, self.conn_id)
