"""Rule conditions (albauth/config/conditions.py): ALB's fields, shapes and limits (spec 7.2)."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import (
    a_rule,
    issue_at,
    load,
    refused,
    with_rules,
)


def test_unknown_condition_field_is_refused() -> None:
    error = refused(with_rules(a_rule(conditions=[{"Field": "path", "Values": ["/x"]}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[0].Field", "path-pattern", "'path'")


def test_two_path_pattern_conditions_are_refused() -> None:
    """Spec 7.2: at most one path-pattern per rule (to OR paths, list them in one condition)."""
    error = refused(with_rules(a_rule(conditions=[{"Field": "path-pattern", "Values": ["/a"]},
                                                  {"Field": "path-pattern", "Values": ["/b"]}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[1]", "at most one path-pattern", "Conditions[0]")


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "10.0.0", "not-an-ip", "2001:db8::/129", "255.255.255.255/32"])
def test_bad_cidr_is_refused(cidr: str) -> None:
    error = refused(with_rules(a_rule(conditions=[
        {"Field": "source-ip", "SourceIpConfig": {"Values": ["192.0.2.0/24", cidr]}}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[0].SourceIpConfig.Values[1]")


@pytest.mark.parametrize("method", ["get", "Post", "GET*", "G" * 41])
def test_method_must_be_uppercase_letters_dash_underscore(method: str) -> None:
    """Spec 7.2: http-request-method is case-sensitive, A-Z, '-', '_', at most 40."""
    error = refused(with_rules(a_rule(conditions=[
        {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["PUT", method]}}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[0].HttpRequestMethodConfig.Values[1]", "A-Z")


def test_more_than_5_condition_values_in_a_rule_are_refused() -> None:
    """Spec 7.1: up to 5 condition values per rule, counted across its conditions."""
    ok = a_rule(conditions=[{"Field": "path-pattern", "Values": ["/a", "/b", "/c"]},
                            {"Field": "host-header", "Values": ["a.test", "b.test"]}])
    load(with_rules(ok))
    too_many = a_rule(conditions=[{"Field": "path-pattern", "Values": ["/a", "/b", "/c"]},
                                  {"Field": "host-header", "Values": ["a.test", "b.test", "c.test"]}])
    issue_at(refused(with_rules(too_many)), "listeners[0].Rules[0].Conditions", "at most 5", "has 6")


def test_http_header_condition_cannot_name_host() -> None:
    error = refused(with_rules(a_rule(conditions=[
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "Host", "Values": ["a"]}}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[0].HttpHeaderConfig.HttpHeaderName", "host-header")


def test_condition_value_over_128_characters_is_refused() -> None:
    error = refused(with_rules(a_rule(conditions=[{"Field": "path-pattern", "Values": ["/" + "a" * 128]}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[0].Values[0]", "128")


@pytest.mark.parametrize(("field", "foreign"), [
    ("host-header", {"PathPatternConfig": {"Values": ["/admin*"]}}),
    ("path-pattern", {"HostHeaderConfig": {"Values": ["a.test"]}}),
    ("http-request-method", {"SourceIpConfig": {"Values": ["10.0.0.0/8"]}}),
])
def test_a_config_of_another_field_is_refused(field: str, foreign: dict[str, Any]) -> None:
    """It would be dropped, and the rule would match more than written."""
    own = {"host-header": ("HostHeaderConfig", "a.test"), "path-pattern": ("PathPatternConfig", "/x"),
           "http-request-method": ("HttpRequestMethodConfig", "GET")}[field]
    condition = {"Field": field, own[0]: {"Values": [own[1]]}, **foreign}
    (key,) = foreign
    issue_at(refused(with_rules(a_rule(conditions=[condition]))), f"listeners[0].Rules[0].Conditions[0].{key}",
             "belongs to a", field)


def test_legacy_values_on_an_http_header_condition_are_refused() -> None:
    condition = {"Field": "http-header", "Values": ["x"],
                 "HttpHeaderConfig": {"HttpHeaderName": "X-A", "Values": ["y"]}}
    issue_at(refused(with_rules(a_rule(conditions=[condition]))), "listeners[0].Rules[0].Conditions[0].Values",
             "HttpHeaderConfig")


def test_legacy_values_that_differ_from_the_config_are_refused() -> None:
    condition = {"Field": "path-pattern", "Values": ["/a"], "PathPatternConfig": {"Values": ["/b"]}}
    issue_at(refused(with_rules(a_rule(conditions=[condition]))), "listeners[0].Rules[0].Conditions[0].Values",
             "differs")
