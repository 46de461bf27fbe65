"""Reading access-log lines as AWS reads ALB's: the regular expression of AWS's Athena
table for ALB access logs ("Querying Application Load Balancer logs"), with ALB's field
names."""

from __future__ import annotations

import re
from pathlib import Path

from albauth.ops.access_log import FIELDS

# AWS's Athena input.regex for ALB logs, field for field (conn_trace_id included).
ATHENA_REGEX = re.compile(
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) ([-.0-9]*) '
    r'(|[-0-9]*) (-|[-0-9]*) ([-0-9]*) ([-0-9]*) \"([^ ]*) (.*) (- |[^ ]*)\" \"([^\"]*)\" ([A-Z0-9-_]+) '
    r'([A-Za-z0-9.-]*) ([^ ]*) \"([^\"]*)\" \"([^\"]*)\" \"([^\"]*)\" ([-.0-9]*) ([^ ]*) \"([^\"]*)\" '
    r'\"([^\"]*)\" \"([^ ]*)\" \"([^\s]+?)\" \"([^\s]+)\" \"([^ ]*)\" \"([^ ]*)\" ?([^ ]*)?( .*)?')
# The Athena table's columns, in the regex's group order.
ATHENA_COLUMNS = (
    "type", "time", "elb", "client_ip", "client_port", "target_ip", "target_port", "request_processing_time",
    "target_processing_time", "response_processing_time", "elb_status_code", "target_status_code",
    "received_bytes", "sent_bytes", "request_verb", "request_url", "request_proto", "user_agent", "ssl_cipher",
    "ssl_protocol", "target_group_arn", "trace_id", "domain_name", "chosen_cert_arn", "matched_rule_priority",
    "request_creation_time", "actions_executed", "redirect_url", "lambda_error_reason", "target_port_list",
    "target_status_code_list", "classification", "classification_reason", "conn_trace_id", "rest",
)


def parse(line: str) -> dict[str, str]:
    found = ATHENA_REGEX.fullmatch(line)
    assert found is not None, f"not an ALB access-log line: {line}"
    return dict(zip(ATHENA_COLUMNS, found.groups(default=""), strict=True))


def split_fields(line: str) -> dict[str, str]:
    """The line split as ALB's field list has it: space-separated, quoted fields whole."""
    tokens = re.findall(r'"[^"]*"|[^ ]+', line)
    assert len(tokens) == len(FIELDS), (len(tokens), line)
    return {name: t[1:-1] if t.startswith('"') else t for name, t in zip(FIELDS, tokens, strict=True)}


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
