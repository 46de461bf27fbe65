"""ALB's access-log entry (AWS docs, "Access logs for your Application Load Balancer",
"Access log entries"): the fields in ALB's order and with ALB's conventions, so Athena
tables, GoAccess formats and Logstash patterns written for ALB read albauth's lines as
they are. `json` writes the same fields, named as ALB's documentation names them.

Conventions copied from ALB: `-` for a missing value (quoted fields: `"-"`), processing
times in seconds with three decimals and `-1` when the request never reached a target,
`matched_rule_priority` 0 for the default rule, `actions_executed` such as
`authenticate,forward`, `error_reason` such as `AuthInvalidCookie`.

What albauth never writes, unlike ALB: the values of query parameters that carry a
credential (`code`, `state`, tokens) are replaced by `REDACTED`, so a login's callback URL
puts no authorization code or login state in a log."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence

__all__ = ["FIELDS", "AccessEntry", "format_alb", "format_json", "iso_time", "quoted", "redact_query"]

FIELDS = (
    "type", "time", "elb", "client:port", "target:port", "request_processing_time", "target_processing_time",
    "response_processing_time", "elb_status_code", "target_status_code", "received_bytes", "sent_bytes",
    "request", "user_agent", "ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id", "domain_name",
    "chosen_cert_arn", "matched_rule_priority", "request_creation_time", "actions_executed", "redirect_url",
    "error_reason", "target:port_list", "target_status_code_list", "classification", "classification_reason",
    "conn_trace_id",
)
# Fields ALB writes between double quotes.
QUOTED = frozenset({"request", "user_agent", "trace_id", "domain_name", "chosen_cert_arn", "actions_executed",
                    "redirect_url", "error_reason", "target:port_list", "target_status_code_list",
                    "classification", "classification_reason"})
_NUMERIC = frozenset({"request_processing_time", "target_processing_time", "response_processing_time",
                      "elb_status_code", "target_status_code", "received_bytes", "sent_bytes",
                      "matched_rule_priority"})
_SECRET_PARAMS = re.compile(
    r"(?i)((?:^|[?&;])(?:code|state|id_token|id_token_hint|access_token|refresh_token|logout_token|token"
    r"|client_secret|session_state)=)[^&;#]*")
# A quoted field holds no `"`, no control character, nothing outside printable ASCII: a
# client's User-Agent can neither end the field early nor start a forged line.
_UNSAFE = re.compile(r'[^\x21\x23-\x7e ]')


def _escape(match: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in match.group().encode("utf-8", "surrogateescape"))


def quoted(value: str | None) -> str:
    """A value as it goes between ALB's double quotes; `-` when there is none."""
    if not value:
        return "-"
    if value.isascii() and value.isprintable() and '"' not in value:
        return value  # the common case, without a regex pass (hot path: several per line)
    return _UNSAFE.sub(_escape, value)


def redact_query(url: str) -> str:
    # Substring checks first: most URLs carry none of these, and `in` costs far less than a regex pass.
    if "code=" in url or "state=" in url or "token" in url or "secret=" in url:
        return _SECRET_PARAMS.sub(r"\1REDACTED", url)
    return url


class _SecondCache:
    """Formatting a timestamp costs more than the rest of a line: the part up to the
    second is formatted once per second."""

    second = -1
    prefix = ""


_cache = _SecondCache()


def iso_time(t: float) -> str:
    """ALB's ISO 8601 time with microseconds: 2018-07-02T22:23:00.186641Z."""
    second, micro = divmod(round(t * 1_000_000), 1_000_000)
    if second != _cache.second:
        _cache.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _cache.second = second
    return f"{_cache.prefix}.{micro:06d}Z"


# One line's values in FIELDS order, already in ALB's text form (unquoted; `-` when missing).
AccessEntry = Sequence[str]
# The line as one format string: a single call per request (measured: bench/, README).
_ALB_LINE = " ".join('"{}"' if name in QUOTED else "{}" for name in FIELDS)


def format_alb(entry: AccessEntry) -> str:
    return _ALB_LINE.format(*entry)


def format_json(entry: AccessEntry) -> str:
    record: dict[str, str | int | float | None] = {}
    for name, v in zip(FIELDS, entry, strict=True):
        if v == "-":
            record[name] = None
        elif name in _NUMERIC:
            record[name] = float(v) if "." in v else int(v)
        else:
            record[name] = v
    return json.dumps(record, separators=(",", ":"))
