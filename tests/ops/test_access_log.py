"""ALB's access log: a login, a refresh and a logout leave lines that AWS's own Athena
regex reads, with ALB's values in ALB's fields, and no credential anywhere in any log."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from albauth.clock import FakeClock
from albauth.devidp import DevIdP
from albauth.ops.access_line import iso_time
from albauth.ops.access_log import FIELDS, quoted, redact_query
from tests.alb.conftest import CLIENT_SECRET, SECRET, Alb, StartAlb, TokenRecorder, Upstream
from tests.ops.alb_log import parse, read_lines, split_fields

ACCESS_TTL = 300  # the built-in provider's access-token lifetime
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
LOGOUT = {"albauth": {"logout_path": "/oauth2/logout", "post_logout_redirect_uri": "https://app.test/bye"}}


async def start_logged(start_alb: StartAlb, tmp_path: Path, fmt: str = "alb", **auth: Any) -> tuple[Alb, Path]:
    log_file = tmp_path / "access.log"
    alb = await start_alb(auth={**LOGOUT, **auth}, albauth={"access_log": {"format": fmt, "file": str(log_file)}})
    return alb, log_file


def flushed(alb: Alb, log_file: Path) -> list[str]:
    assert alb.runtime.access_log is not None
    alb.runtime.access_log.sink.flush()
    return read_lines(log_file)


async def login_refresh_logout(alb: Alb, clock: FakeClock) -> list[str]:
    """Every credential the flow handled: state, code, cookie values."""
    browser = alb.browser
    first = await browser.get("https://app.test/page?x=1")
    state = parse_qs(urlsplit(first.location).query)["state"][0]
    raw_state = quote(state, safe="")  # as it travels in a URL
    callback = await browser.sign_in(first.location)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    done = await browser.get(callback)
    assert done.status == 302
    assert (await browser.get("https://app.test/page?x=1")).status == 200
    cookies = list(browser.cookies().values())
    clock.advance(ACCESS_TTL + 1)
    assert (await browser.get("https://app.test/later")).status == 200  # refreshed
    cookies += list(browser.cookies().values())
    cookies += [line.split("=", 1)[1].split(";")[0] for line in browser.cookie_lines]
    bye = await browser.get("https://app.test/oauth2/logout", headers=SAME_ORIGIN)
    assert bye.status == 302
    return [state, raw_state, code, *(c for c in cookies if len(c) > 8)]


async def test_login_refresh_logout_lines_parse_with_athenas_regex_and_carry_albs_values(
        start_alb: StartAlb, clock: FakeClock, upstream: Upstream, tmp_path: Path) -> None:
    alb, log_file = await start_logged(start_alb, tmp_path)
    await login_refresh_logout(alb, clock)
    await alb.browser.get("https://app.test/oauth2/idpresponse?code=abc")  # no state: 401
    lines = flushed(alb, log_file)
    rows = [parse(line) for line in lines]
    fields = [split_fields(line) for line in lines]
    redirect, callback, page, refreshed, logout, failed = rows
    assert [r["elb_status_code"] for r in rows] == ["302", "302", "200", "200", "302", "401"]
    assert all(r["type"] == "https" and r["elb"].startswith("app/albauth/") for r in rows)
    assert all(r["client_ip"] == "127.0.0.1" and r["client_port"].isdigit() for r in rows)
    # ALB's request field: method, scheme://host:port/path?query, protocol.
    assert redirect["request_url"] == f"https://app.test:{alb.port}/page?x=1"
    assert (redirect["request_verb"], redirect["request_proto"]) == ("GET", "HTTP/1.1")
    assert redirect["actions_executed"] == "authenticate" and redirect["matched_rule_priority"] == "0"
    assert [fields[0][f] for f in ("target:port", "target_status_code", "target_group_arn")] == ["-", "-", "-"]
    assert [fields[0][f] for f in ("target_processing_time", "response_processing_time")] == ["0.000", "0.000"]
    assert callback["request_url"] == (f"https://app.test:{alb.port}/oauth2/idpresponse"
                                       "?code=REDACTED&state=REDACTED")
    assert callback["actions_executed"] == "authenticate" and callback["matched_rule_priority"] == "-"
    for forwarded in (page, refreshed):
        assert forwarded["actions_executed"] == "authenticate,forward"
        assert f"{forwarded['target_ip']}:{forwarded['target_port']}" == urlsplit(upstream.url).netloc
        assert forwarded["target_status_code"] == "200" and forwarded["target_group_arn"] == "app"
        assert forwarded["trace_id"].startswith("Root=1-")
        assert all(float(forwarded[t]) >= 0 for t in ("request_processing_time", "target_processing_time",
                                                      "response_processing_time"))
        assert forwarded["target_port_list"] == f"{forwarded['target_ip']}:{forwarded['target_port']}"
    assert refreshed["request_url"].endswith("/later")
    assert logout["request_url"].endswith("/oauth2/logout") and logout["actions_executed"] == "authenticate"
    assert failed["lambda_error_reason"] == "AuthMissingStateParam"  # Athena's name for error_reason
    assert all(f["error_reason"] == "-" for f in fields[:5])
    assert {r["ssl_protocol"] for r in rows} <= {"TLSv1.2", "TLSv1.3"} and all(r["ssl_cipher"] != "-" for r in rows)
    assert all(int(r["received_bytes"]) > 0 and int(r["sent_bytes"]) > 0 for r in rows)
    assert all(f["conn_trace_id"].startswith("TID_") for f in fields)
    assert all(f["classification"] == "-" and f["redirect_url"] == "-" for f in fields)


async def test_json_lines_carry_the_same_fields_by_albs_names(start_alb: StartAlb, tmp_path: Path) -> None:
    alb, log_file = await start_logged(start_alb, tmp_path, fmt="json")
    await alb.browser.get("https://app.test/")
    (line,) = flushed(alb, log_file)
    record = json.loads(line)
    assert tuple(record) == FIELDS
    assert record["elb_status_code"] == 302 and record["target_status_code"] is None
    assert record["actions_executed"] == "authenticate" and record["matched_rule_priority"] == 0


async def test_no_token_code_state_cookie_or_secret_in_any_log_line(
        start_alb: StartAlb, clock: FakeClock, token_recorder: TokenRecorder, idp: DevIdP, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, aiohttp's and the provider's client included
    alb, log_file = await start_logged(start_alb, tmp_path, TokenEndpoint=token_recorder.url)
    seen = await login_refresh_logout(alb, clock)
    assert len(token_recorder.answers) == 2  # the login's and the refresh's
    tokens = [a[k] for a in token_recorder.answers for k in ("access_token", "refresh_token", "id_token") if k in a]
    secrets = {"token": tokens, "flow": seen, "secret": [CLIENT_SECRET, SECRET]}
    # The provider, the echo target and the token recorder run in this process too: their
    # own logs (authlib's, aiohttp's access log of the test servers) are not albauth's.
    albauth_records = [r for r in caplog.records if not r.name.startswith(("authlib", "aiohttp.access"))]
    lines = flushed(alb, log_file) + [caplog.handler.format(r) for r in albauth_records]
    assert len(lines) >= 6  # five access-log lines, the logout's app-log line
    for kind, values in secrets.items():
        for value in values:
            leaks = [line for line in lines if value in line]
            assert not leaks, f"a {kind} value is in the log: {leaks[0][:300]}"


def test_quoted_fields_cannot_end_early_or_start_a_new_line() -> None:
    assert quoted('agent "x"\nhttp 2026') == "agent %22x%22%0Ahttp 2026"
    assert quoted("") == "-" and quoted(None) == "-"
    assert quoted("é") == "%C3%A9"


def test_credentials_in_a_query_are_redacted_and_other_parameters_kept() -> None:
    assert redact_query("/cb?code=abc&state=xyz&x=1") == "/cb?code=REDACTED&state=REDACTED&x=1"
    assert redact_query("/p?access_token=t;refresh_token=r") == "/p?access_token=REDACTED;refresh_token=REDACTED"
    assert redact_query("/p?barcode=1&mystate=2") == "/p?barcode=1&mystate=2"


def test_times_are_iso_8601_with_microseconds_in_utc() -> None:
    assert iso_time(1_530_570_180.186641) == "2018-07-02T22:23:00.186641Z"
    assert iso_time(1_530_570_181.5) == "2018-07-02T22:23:01.500000Z"


async def test_a_websocket_connection_is_one_line_when_it_closes(start_alb: StartAlb, tmp_path: Path) -> None:
    alb, log_file = await start_logged(start_alb, tmp_path)
    await alb.browser.login()
    cookie = "; ".join(f"{k}={v}" for k, v in alb.browser.cookies().items())
    async with alb.browser.session.ws_connect(f"wss://127.0.0.1:{alb.port}/ws", ssl=False,
                                              headers={"Host": "app.test", "Cookie": cookie}) as ws:
        await ws.send_str("hello")
        assert (await ws.receive_str()) == "hello"
        assert len(flushed(alb, log_file)) == 3  # the login's lines: none for the open connection
    for _ in range(100):
        lines = flushed(alb, log_file)
        if len(lines) == 4:
            break
        await asyncio.sleep(0.05)
    line = split_fields(lines[-1])
    assert (line["type"], line["elb_status_code"], line["target_status_code"]) == ("wss", "101", "101")
    assert line["actions_executed"] == "authenticate,forward" and line["request"].startswith("GET https://app.test")
    assert int(line["received_bytes"]) > 0
