"""ALB's load-balancer attributes (albauth/config/attributes.py): the one albauth applies,
written as in CloudFormation; any other is refused, never accepted and ignored."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import base_doc, issue_at, load, refused

DROP = "routing.http.drop_invalid_header_fields.enabled"


def with_attributes(*attributes: dict[str, Any]) -> dict[str, Any]:
    doc = base_doc()
    doc["LoadBalancerAttributes"] = list(attributes)
    return doc


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), ("TRUE", True), (True, True)])
def test_drop_invalid_header_fields_attribute_sets_the_proxy_switch(value: Any, expected: bool) -> None:
    assert load(with_attributes({"Key": DROP, "Value": value})).proxy.drop_invalid_header_fields is expected


@pytest.mark.parametrize("key", ["routing.http.desync_mitigation_mode", "routing.http2.enabled",
                                 "waf.fail_open.enabled"])
def test_other_attributes_are_refused_as_not_supported(key: str) -> None:
    error = refused(with_attributes({"Key": DROP, "Value": "true"}, {"Key": key, "Value": "60"}))
    issue_at(error, "LoadBalancerAttributes[1].Key", "not supported", DROP)


@pytest.mark.parametrize("value", ["yes", "1", None, 1])
def test_attribute_value_must_be_true_or_false(value: Any) -> None:
    issue_at(refused(with_attributes({"Key": DROP, "Value": value})), "LoadBalancerAttributes[0].Value",
             '"true" or "false"')


def test_attribute_given_twice_is_refused() -> None:
    error = refused(with_attributes({"Key": DROP, "Value": "true"}, {"Key": DROP, "Value": "true"}))
    issue_at(error, "LoadBalancerAttributes[1].Key", "given twice", "LoadBalancerAttributes[0]")


def test_attribute_that_contradicts_the_proxy_setting_is_refused() -> None:
    doc = with_attributes({"Key": DROP, "Value": "true"})
    doc["albauth"]["proxy"] = {"drop_invalid_header_fields": False}
    issue_at(refused(doc), "albauth.proxy.drop_invalid_header_fields", "contradicts LoadBalancerAttributes")
    doc["albauth"]["proxy"] = {"drop_invalid_header_fields": True}
    assert load(doc).proxy.drop_invalid_header_fields is True


def test_attributes_must_be_key_value_pairs() -> None:
    issue_at(refused(with_attributes({"Key": DROP, "Value": "true", "Valeu": "x"})),
             "LoadBalancerAttributes[0].Valeu", "unknown key")
    issue_at(refused(with_attributes({"Value": "true"})), "LoadBalancerAttributes[0].Key", "required")
