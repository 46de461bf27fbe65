"""ALB's CloudWatch metrics under one naming rule, counted from real traffic and read from
the admin listener's /metrics as Prometheus scrapes it; the Grafana dashboard asks only
for metrics albauth exports."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer, unused_port

from albauth.app import Runtime
from albauth.clock import FakeClock
from albauth.config.model import Settings
from albauth.ops.metrics import prometheus_name, snake_case
from tests.alb.conftest import Alb, StartAlb
from tests.support import REPO, address, proxy_settings

StartAlbauth = Callable[[Settings], Awaitable[Runtime]]
EchoUpstream = Callable[..., Awaitable[TestServer]]
DASHBOARD = REPO / "deploy" / "grafana" / "albauth.json"
ACCESS_TTL = 300


async def scrape(alb: Alb) -> str:
    async with aiohttp.ClientSession() as http, http.get(alb.admin + "/metrics") as resp:
        assert resp.status == 200
        return await resp.text()


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples that carry `labels`."""
    total = 0.0
    for line in text.splitlines():
        found = re.fullmatch(r"([a-z_0-9]+)(?:\{(.*)\})? (\S+)", line)
        if found is None or found.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(found.group(3))
    return total


def exported_names(text: str) -> set[str]:
    """Every series name a scrape can hold, labelled families without samples yet included."""
    names: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE):
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def test_one_rule_turns_cloudwatch_names_into_prometheus_names() -> None:
    assert snake_case("ELBAuthRefreshTokenSuccess") == "elb_auth_refresh_token_success"
    assert snake_case("HTTPCode_Target_5XX_Count") == "http_code_target_5xx_count"
    assert prometheus_name("ELBAuthError") == "albauth_elb_auth_error_total"
    assert prometheus_name("HTTPCode_ELB_4XX_Count") == "albauth_http_code_elb_4xx_count_total"
    assert prometheus_name("ELBAuthLatency", "seconds") == "albauth_elb_auth_latency_seconds"
    assert prometheus_name("TargetResponseTime", "seconds") == "albauth_target_response_time_seconds"
    assert prometheus_name("ActiveConnectionCount", "gauge") == "albauth_active_connection_count"


async def test_a_login_and_a_refresh_are_counted_as_alb_counts_them(alb: Alb, clock: FakeClock) -> None:
    await alb.browser.login()
    clock.advance(ACCESS_TTL + 1)
    assert (await alb.browser.get("https://app.test/later")).status == 200
    text = await scrape(alb)
    port = str(alb.port)
    # The redirect to the provider, the callback, two forwarded requests.
    assert sample(text, "albauth_request_count_total", listener=port) == 4
    assert sample(text, "albauth_request_count_total", listener=port, rule="0", target_group="app") == 2
    assert sample(text, "albauth_request_count_total", listener=port, rule="0", target_group="-") == 1
    assert sample(text, "albauth_http_code_elb_3xx_count_total", listener=port) == 2
    assert sample(text, "albauth_http_code_target_2xx_count_total", listener=port, target_group="app") == 2
    assert sample(text, "albauth_target_response_time_seconds_count", target_group="app") == 2
    assert sample(text, "albauth_elb_auth_success_total") == 1
    assert sample(text, "albauth_elb_auth_refresh_token_success_total") == 1
    assert sample(text, "albauth_refresh_count_total", outcome="success") == 1
    assert sample(text, "albauth_elb_auth_latency_seconds_count") == 2
    assert sample(text, "albauth_session_store_latency_seconds_count", operation="load") >= 2
    assert sample(text, "albauth_session_store_latency_seconds_count", operation="save") == 2
    assert sample(text, "albauth_processed_bytes_total", listener=port) > 4000
    assert sample(text, "albauth_new_connection_count_total", listener=port) >= 1
    assert sample(text, "albauth_active_connection_count", listener=port) >= 1
    assert sample(text, "albauth_config_generation") == 1
    assert alb.metrics.value("ELBAuthSuccess") == 1  # what tests read, by CloudWatch name
    assert alb.metrics.value("RequestCount", target_group="app") == 2


async def test_an_unreachable_target_counts_a_connection_error_and_an_elb_502(start_alb: StartAlb) -> None:
    dead = f"http://127.0.0.1:{unused_port()}"
    alb = await start_alb(default=[{"Type": "forward", "TargetGroupArn": "dead"}],
                          albauth={"target_groups": {"dead": {"targets": [dead]}}})
    assert (await alb.browser.get("https://app.test/")).status == 502
    text = await scrape(alb)
    assert sample(text, "albauth_target_connection_error_count_total", target_group="dead") == 1
    assert sample(text, "albauth_http_code_elb_5xx_count_total", listener=str(alb.port)) == 1
    assert sample(text, "albauth_http_code_target_5xx_count_total") == 0


async def test_connections_refused_at_the_cap_are_rejected_connections(
        start_albauth: StartAlbauth, echo_upstream: EchoUpstream) -> None:
    upstream = await echo_upstream()
    settings = dataclasses.replace(proxy_settings({"app": [str(upstream.make_url(""))]}), max_connections=1)
    runtime = await start_albauth(settings)
    _, port = address(runtime)
    _, held = await asyncio.open_connection("127.0.0.1", port)
    await asyncio.sleep(0.1)
    reader, refused = await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed at once
    refused.close()
    text = runtime.metrics.render().decode()
    held.close()
    listener = str(settings.listeners[0].port)
    assert sample(text, "albauth_rejected_connection_count_total", listener=listener) == 1
    assert sample(text, "albauth_new_connection_count_total", listener=listener) == 1
    assert sample(text, "albauth_active_connection_count", listener=listener) == 1


async def test_every_query_of_the_grafana_dashboard_names_metrics_albauth_exports(
        alb: Alb, clock: FakeClock) -> None:
    await alb.browser.login()
    exported = exported_names(await scrape(alb))
    queries = dashboard_queries(json.loads(DASHBOARD.read_text()))
    assert len(queries) >= 20
    for query in queries:
        named = set(re.findall(r"\balbauth_[a-z0-9_]+", query))
        assert named, f"a query names no albauth metric: {query}"
        missing = named - exported
        assert not missing, f"{sorted(missing)} in {query!r} are not exported"


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for panel in dashboard["panels"]:
        out += [t["expr"] for t in panel.get("targets", [])]
        out += dashboard_queries({"panels": panel.get("panels", [])})
    return out


def test_the_dashboard_file_is_where_the_readme_says() -> None:
    assert DASHBOARD.is_file() and Path(REPO / "README.md").read_text().count("deploy/grafana/albauth.json")
