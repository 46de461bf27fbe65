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
from collections.abc import Sequence

__all__ = ["FIELDS", "AccessEntry", "fields_of", "format_json", "quoted", "redact_query"]

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


# One line's values in FIELDS order, already in ALB's text form (unquoted; `-` when missing).
AccessEntry = Sequence[str]
_TOKEN = re.compile(r'"([^"]*)"|([^ ]+)')


def fields_of(line: str) -> AccessEntry:
    """An ALB line split into its field values (quotes removed): exact, since a quoted
    field never holds a `"`."""
    return [quoted_value or bare for quoted_value, bare in _TOKEN.findall(line)]


def format_json(line: str) -> str:
    """The ALB line as one JSON object, keyed by ALB's field names, numbers as numbers,
    `-` as null."""
    record: dict[str, str | int | float | None] = {}
    for name, v in zip(FIELDS, fields_of(line), strict=True):
        if v == "-":
            record[name] = None
        elif name in _NUMERIC:
            record[name] = float(v) if "." in v else int(v)
        else:
            record[name] = v
    return json.dumps(record, separators=(",", ":"))
