"""albauth's own sections (albauth/config/settings.py): sessions, target groups."""

from __future__ import annotations

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
