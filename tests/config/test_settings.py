"""albauth's own sections (albauth/config/settings.py): sessions, target groups, the proxy, connections."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import (
    SECRET,
    base_doc,
    issue_at,
    load,
    refused,
)


def test_short_session_secret_is_refused() -> None:
    doc = base_doc()
    doc["albauth"]["session"] = {"secrets": [SECRET, "too-short"]}
    issue_at(refused(doc), "albauth.session.secrets[1]", "at least 32", "is 9")


def test_session_secrets_rotate_first_seals() -> None:
    doc = base_doc()
    doc["albauth"]["session"] = {"secrets": ["${NEW}", SECRET]}
    settings = load(doc, env={"NEW": "n" * 40})
    assert settings.session.secrets == ("n" * 40, SECRET)


def test_redis_url_as_store_selects_redis() -> None:
    doc = base_doc()
    doc["albauth"]["session"] = {"store": "redis://localhost:6379/0"}
    session = load(doc).session
    assert (session.store, session.redis_url) == ("redis", "redis://localhost:6379/0")


def test_target_group_urls_are_checked() -> None:
    doc = base_doc()
    doc["albauth"]["target_groups"]["app"]["targets"] = ["localhost:3000"]
    issue_at(refused(doc), "albauth.target_groups.app.targets[0]", "http(s)://")


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://127.0.0.1:http", "http://[::1:3000"])
def test_target_url_with_a_bad_port_or_host_is_refused_not_crashed_on(url: str) -> None:
    doc = base_doc()
    doc["albauth"]["target_groups"]["app"]["targets"] = [url]
    issue_at(refused(doc), "albauth.target_groups.app.targets[0]", "not a valid URL")


# --- albauth.proxy ------------------------------------------------------------------------

PROXY_SWITCHES = {"drop_invalid_header_fields": False, "reject_encoded_slash": True, "merge_slashes": True,
                  "reject_dot_segment_parameters": True}


def test_proxy_switch_defaults() -> None:
    """drop_invalid_header_fields is off, as ALB's attribute; the path checks are on (the safe side)."""
    proxy = load(base_doc()).proxy
    assert {name: getattr(proxy, name) for name in PROXY_SWITCHES} == PROXY_SWITCHES


@pytest.mark.parametrize("name", sorted(PROXY_SWITCHES))
def test_each_proxy_switch_is_applied(name: str) -> None:
    doc = base_doc()
    doc["albauth"]["proxy"] = {name: not PROXY_SWITCHES[name]}
    assert getattr(load(doc).proxy, name) is (not PROXY_SWITCHES[name])


@pytest.mark.parametrize("name", sorted(PROXY_SWITCHES))
def test_a_proxy_switch_that_is_not_a_boolean_is_refused(name: str) -> None:
    doc = base_doc()
    doc["albauth"]["proxy"] = {name: "sometimes"}
    issue_at(refused(doc), f"albauth.proxy.{name}", "true or false")


# --- Connections ----------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "default"), [("listen_backlog", 4096), ("max_connections", 10000)])
def test_connection_limits_have_their_defaults(key: str, default: int) -> None:
    assert getattr(load(base_doc()), key) == default


@pytest.mark.parametrize(("key", "value"), [("listen_backlog", 1), ("listen_backlog", 65535), ("listen_backlog", "128"),
                                            ("max_connections", 1), ("max_connections", 250000)])
def test_connection_limits_are_applied(key: str, value: Any) -> None:
    doc = base_doc()
    doc["albauth"][key] = value
    assert getattr(load(doc), key) == int(value)


@pytest.mark.parametrize(("key", "value", "words"), [
    ("listen_backlog", 0, ("between 1 and 65535",)), ("listen_backlog", 65536, ("between 1 and 65535",)),
    ("listen_backlog", "lots", ("whole number",)), ("max_connections", 0, ("between 1",)),
    ("max_connections", -5, ("between 1",)), ("max_connections", 1.5, ("whole number",)),
])
def test_bad_connection_limits_are_refused(key: str, value: Any, words: tuple[str, ...]) -> None:
    doc = base_doc()
    doc["albauth"][key] = value
    issue_at(refused(doc), f"albauth.{key}", *words)
