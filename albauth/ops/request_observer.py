"""What happens once a response is out: one listener's request metrics and, when enabled,
its access-log line. aiohttp calls `ObserverHook.log` after the last byte of a response
(for a WebSocket: when the connection ends, as ALB logs a WebSocket connection once), so
the byte counts and times are final.

The hot path only counts; the access-log line is built only when an access log is on."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from typing import Any, cast

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from prometheus_client import Counter

from albauth.ops.access_line import ConnectionFacts, LineContext, alb_line
from albauth.ops.access_log import format_json
from albauth.ops.log_sink import LineSink
from albauth.ops.metrics import Metrics, Tally
from albauth.ops.request_record import ERROR_REASON, REDIRECT_URL, RequestRecord, header_fields_bytes, record_of

__all__ = ["AccessLog", "ListenerObserver", "ObserverHook", "default_elb_name"]


def default_elb_name() -> str:
    """ALB's `elb` field is `app/<name>/<id>`: albauth's id is stable per host."""
    return f"app/albauth/{hashlib.sha256(socket.gethostname().encode()).hexdigest()[:16]}"


class AccessLog:
    """The format (alb or json), the sink, the `elb` name every line carries."""

    def __init__(self, fmt: str, sink: LineSink, elb: str | None = None) -> None:
        self.render: Callable[[str], str] = format_json if fmt == "json" else _as_is
        self.sink = sink
        self.elb = elb or default_elb_name()


def _as_is(line: str) -> str:
    return line


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
        self._tally = metrics.tally
        self._bytes = metrics.processed_bytes.labels(self.listener)
        self._elb = {c: m.labels(self.listener) for c, m in metrics.elb_codes.items()}
        self._groups: dict[str, _GroupMetrics] = {}
        self._scheme = "https" if https else "http"
        self._line = LineContext(access_log.elb if access_log else "", self._scheme, self.listener)

    def finished(self, request: web.BaseRequest, response: web.StreamResponse,
                 conn: Callable[[web.BaseRequest], ConnectionFacts]) -> None:
        record = record_of(request)
        if record is None:  # refused before a listener handler ran (a malformed request)
            record = _UNHANDLED
        rule = "-" if record.rule_priority is None else str(record.rule_priority)
        group = record.target_group or "-"
        counter = self._requests.get((rule, group))
        if counter is None:
            counter = self._requests[(rule, group)] = self.metrics.requests.labels(self.listener, rule, group)
        counts = self._tally.counts
        counts[counter] += 1
        received = _received_bytes(request)
        sent = response.body_length
        counts[self._bytes] += received + sent
        if record.target_status is not None:
            self._target(group).count(record, self._tally)
        elif response.status >= 300:
            elb = self._elb.get(_code_class(response.status))
            if elb is not None:
                counts[elb] += 1
        if record.target_connect_failed:
            counts[self._target(group).connection_errors] += 1
        if self.access_log is not None:
            line = self.line(request, response, record, received, sent, conn(request))
            self.access_log.sink.write(self.access_log.render(line))

    def _target(self, group: str) -> _GroupMetrics:
        found = self._groups.get(group)
        if found is None:
            found = self._groups[group] = _GroupMetrics(self.metrics, self.listener, group)
        return found

    def line(self, request: web.BaseRequest, response: web.StreamResponse, record: RequestRecord,
             received: int, sent: int, conn: ConnectionFacts) -> str:
        headers = request.headers
        noted = len(response) != 0  # most responses carry neither an error_reason nor a redirect
        return alb_line(self._line, conn, record, request.method, headers.get("Host"), request.raw_path,
                        request.version, headers.get("User-Agent"), response.status, received, sent,
                        response.get(REDIRECT_URL) if noted else None,
                        response.get(ERROR_REASON) if noted else None, record is not _UNHANDLED)


class _GroupMetrics:
    """One target group's metric children, looked up once."""

    def __init__(self, metrics: Metrics, listener: str, group: str) -> None:
        self.codes = {c: m.labels(listener, group) for c, m in metrics.target_codes.items()}
        self.response_time = metrics.target_response_time.labels(group)
        self.connection_errors = metrics.target_connection_errors.labels(group)

    def count(self, record: RequestRecord, tally: Tally) -> None:
        assert record.target_status is not None
        codes = self.codes.get(_code_class(record.target_status))
        if codes is not None:
            tally.counts[codes] += 1
        if record.target_sent is not None and record.target_responded is not None:
            self.response_time.observe(record.target_responded - record.target_sent)


def connection_facts(request: web.BaseRequest) -> ConnectionFacts:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else f"{request.remote or '-'}:0"
    tls = transport.get_extra_info("ssl_object") if transport is not None else None
    conn_id = f"TID_{os.urandom(8).hex()}"  # ALB's conn_trace_id: one per client connection
    if tls is None:
        return ConnectionFacts(client, conn_id)
    return ConnectionFacts(client, conn_id, tls.cipher()[0], tls.version())


def _received_bytes(request: web.BaseRequest) -> int:
    """ALB counts the request as it came, headers included: the request line, each header
    line, the blank line, the body read."""
    head = len(request.method) + len(request.raw_path) + 12
    head += header_fields_bytes(request) + 2
    return head + request.content.total_bytes


class ObserverHook(AbstractAccessLogger):
    """aiohttp's per-connection access-logger slot; `logger` is the listener's observer."""

    __slots__ = ("_conn",)

    def __init__(self, logger: Any, log_format: str) -> None:
        super().__init__(logger, log_format)
        self._conn: ConnectionFacts | None = None

    def conn(self, request: web.BaseRequest) -> ConnectionFacts:
        # Looked up with the connection's first line, then kept: a keep-alive connection
        # does not change its peer or its TLS session.
        if self._conn is None:
            self._conn = connection_facts(request)
        return self._conn

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        cast(ListenerObserver, self.logger).finished(request, response, self.conn)
