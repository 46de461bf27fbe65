"""Typed reads that record every problem (albauth/config/checker.py)."""

from __future__ import annotations

import pytest

from albauth.config.checker import Checker
from albauth.config.errors import ConfigError


def test_mapping_reports_each_unknown_key_under_its_path_with_the_known_ones() -> None:
    c = Checker("f.yaml")
    assert c.mapping({"Port": 1, "Prot": 2}, "listeners[0]", known=frozenset({"Port", "Protocol"}))
    [issue] = c.issues
    assert str(issue) == "f.yaml: listeners[0].Prot: unknown key (expected one of: Port, Protocol)"


def test_mapping_names_what_an_unknown_key_is_and_the_top_level_has_no_prefix() -> None:
    c = Checker("f.yaml")
    c.mapping({"listener": []}, "", known=frozenset({"listeners"}), what="top-level key")
    c.mapping({"adress": "x"}, "listeners[0].albauth", known=frozenset({"address"}), what="setting")
    assert [str(i) for i in c.issues] == [
        "f.yaml: listener: unknown top-level key (expected one of: listeners)",
        "f.yaml: listeners[0].albauth.adress: unknown setting (expected one of: address)",
    ]


def test_a_required_list_must_not_be_empty() -> None:
    c = Checker("f.yaml")
    assert c.list_of([], "Actions", required=True) == []
    assert [i.message for i in c.issues] == ["must not be empty"]


@pytest.mark.parametrize(("value", "expected"), [(5, 5), ("5", 5), ("-1", None), (True, None), (1.5, None)])
def test_integer_accepts_numeric_strings_within_bounds(value: object, expected: int | None) -> None:
    c = Checker("f.yaml")
    assert c.integer(value, "k", 0, 10) == expected
    assert bool(c.issues) == (expected is None)


def test_raise_if_any_reports_every_issue_together() -> None:
    c = Checker("f.yaml")
    c.issue("a", "one")
    c.issue("b", "two")
    with pytest.raises(ConfigError) as caught:
        c.raise_if_any()
    assert str(caught.value) == "f.yaml: a: one\nf.yaml: b: two"
