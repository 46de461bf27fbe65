"""One access-log line in ALB's format, built with as little work per request as Python
allows: one `%` format call for the whole line (it converts the numbers itself), the
date formatted once per second, a field escaped only when it needs it. Building it field
by field (a function per field, then a join) cost about five times as much per line in a
micro-benchmark; its cost per request under load is in the README ("Access log in ALB's
format").

The JSON form is derived from the line (albauth.ops.access_log.format_json): quoted fields
never hold a `"`, so splitting the line is exact."""

from __future__ import annotations

import time

from albauth.ops.access_log import quoted, redact_query
from albauth.ops.request_record import RequestRecord

__all__ = ["ConnectionFacts", "LineContext", "alb_line", "iso_time"]


def _template(times: str) -> str:
    return ("%s %s.%06dZ %s %s %s " + times + ' %d %s %d %d "%s %s://%s:%s%s HTTP/%d.%d" "%s" %s %s %s "%s" "-" "-" '
            '%s %s.%06dZ "%s" "%s" "%s" "%s" "%s" "-" "-" %s')


_FORWARDED = _template("%.3f %.3f %.3f")  # the target answered: three measured times
_OTHER = _template("%s %s %s")  # -1 -1 -1, or albauth answered itself


class _Seconds:
    """`YYYY-mm-ddTHH:MM:SS` of the current second, formatted when the second changes."""

    second = -1
    text = ""


# One per time field: a line's two times are seconds apart when its request was slow.
_now_clock, _created_clock = _Seconds(), _Seconds()


def _date(t: float, clock: _Seconds) -> tuple[str, int]:
    second = int(t)
    if second != clock.second:
        clock.text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        clock.second = second
    return clock.text, min(round((t - second) * 1_000_000), 999_999)


def iso_time(t: float) -> str:
    """ALB's ISO 8601 time with microseconds: 2018-07-02T22:23:00.186641Z."""
    day, micro = _date(t, _Seconds())
    return f"{day}.{micro:06d}Z"


def _clean(value: str) -> str:
    """A value for a quoted field: as it is unless it needs escaping."""
    return value if value.isprintable() and value.isascii() and '"' not in value else quoted(value)


class LineContext:
    """What is the same for every line of a listener."""

    __slots__ = ("elb", "kind", "port", "scheme")

    def __init__(self, elb: str, scheme: str, port: str) -> None:
        self.elb = elb
        self.scheme = scheme
        self.kind = scheme  # ALB's `type`: http | https (ws | wss for WebSockets)
        self.port = port


class ConnectionFacts:
    """What is the same for every line of a client connection: looked up once."""

    __slots__ = ("client", "conn_id", "tls_cipher", "tls_protocol")

    def __init__(self, client: str, conn_id: str, tls_cipher: str = "-", tls_protocol: str = "-") -> None:
        self.client = client  # ip:port
        self.conn_id = conn_id  # ALB's conn_trace_id
        self.tls_cipher = tls_cipher
        self.tls_protocol = tls_protocol


def alb_line(ctx: LineContext, conn: ConnectionFacts, record: RequestRecord, method: str, host: str | None,
             path: str, version: tuple[int, int], user_agent: str | None, status: int, received: int, sent: int,
             redirect: str | None, error_reason: str | None, handled: bool) -> str:
    """`handled`: a listener handler saw the request (else it was refused before, as malformed)."""
    now = time.time()
    second = int(now)
    clock = _now_clock
    if second != clock.second:
        clock.text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        clock.second = second
    day, micro = clock.text, int((now - second) * 1_000_000)
    created = record.created
    if not handled:
        created_day, created_micro = day, micro
    elif int(created) == second:  # the common case: received and answered within one second
        created_day, created_micro = day, int((created - second) * 1_000_000)
    else:
        created_day, created_micro = _date(created, _created_clock)
    kind = ctx.kind if status != 101 else ("wss" if ctx.scheme == "https" else "ws")
    target = record.target or "-"
    target_status = str(record.target_status) if record.target_status else "-"
    if host is None:
        host = "-"
    elif host.count(":") == 1:  # host:port; ALB writes the listener's port (IPv6 literals keep theirs)
        host = host.partition(":")[0]
    if "=" in path:
        path = redact_query(path)
    sent_at, responded = record.target_sent, record.target_responded
    if handled and sent_at is not None and responded is not None:
        template = _FORWARDED
        times: tuple[object, ...] = (sent_at - record.started, responded - sent_at, time.perf_counter() - responded)
    else:
        template = _OTHER
        # ALB: -1 when the request could not be dispatched to a target (never reached one, or
        # the target did not answer); an answer albauth made itself has its time as
        # request_processing_time and 0 for the others.
        times = (("-1", "-1", "-1") if not handled or sent_at is not None
                 else ("%.3f" % (time.perf_counter() - record.started), "0.000", "0.000"))
    return template % (
        kind, day, micro, ctx.elb, conn.client, target, *times,
        status, target_status, received, sent,
        method, ctx.scheme, _clean(host), ctx.port,
        path if path.isascii() and path.isprintable() and '"' not in path else quoted(path), version[0], version[1],
        (user_agent if user_agent.isascii() and user_agent.isprintable() and '"' not in user_agent
         else quoted(user_agent)) if user_agent else "-",
        conn.tls_cipher, conn.tls_protocol, record.target_group or "-",
        _clean(record.trace_id) if record.trace_id else "-",
        "-" if record.rule_priority is None else record.rule_priority, created_day, created_micro,
        record.actions or "-", quoted(redact_query(redirect)) if redirect else "-", error_reason or "-",
        target, target_status, conn.conn_id,
    )
