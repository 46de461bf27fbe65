"""albauth.wildcard: ALB's `*`/`?` values (spec 7.2) in linear time.

The reference is the regular-expression translation albauth used before (correct, but it
backtracks); the compiled globs must agree with it on every pattern and value, and stay fast
on values built to make the regular expression backtrack."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albauth.rules import RequestFacts, RuleTable
from albauth.wildcard import compile_glob, fold_case


def reference(pattern: str, value: str, *, ignore_case: bool, escapes: bool) -> bool:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escapes and ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    flags = (re.IGNORECASE if ignore_case else 0) | re.DOTALL
    return re.fullmatch("".join(out), value, flags) is not None


PATTERN = st.text(alphabet="ab/.*?\\A", max_size=12)
VALUE = st.text(alphabet="ab/.*?\\AB", max_size=16)


@settings(max_examples=1000)
@given(PATTERN, VALUE, st.booleans(), st.booleans())
def test_glob_agrees_with_the_regular_expression(pattern: str, value: str, ignore_case: bool,
                                                 escapes: bool) -> None:
    glob = compile_glob(pattern, ignore_case=ignore_case, escapes=escapes)
    assert glob(value) is reference(pattern, value, ignore_case=ignore_case, escapes=escapes)


@settings(max_examples=500)
@given(st.lists(st.sampled_from(["a", "ab", "*", "?", "b?a", "**"]), max_size=6).map("".join),
       st.text(alphabet="ab", max_size=24))
def test_glob_agrees_on_repetitive_text(pattern: str, value: str) -> None:
    """Repetitive values are where a leftmost search could go wrong."""
    assert compile_glob(pattern, ignore_case=False)(value) is reference(pattern, value, ignore_case=False,
                                                                        escapes=False)


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    ("*.example.com", "A.EXAMPLE.COM", True),
    ("api?.example.com", "api.example.com", False),
    ("/files/*/*/*.pdf", "/files/a/b/c.pdf", True),
    ("/files/*/*/*.pdf", "/files/a/b/c/d.pdf", True),  # `*` spans `/`
    ("/files/*/*/*.pdf", "/files///.pdf", True),  # and may be empty
    ("/files/*/*/*.pdf", "/files/a.pdf", False),
    ("a*a", "a", False),
    ("?", "\u0130", True),  # one character, even where lower() would give two
    ("\u0130*", "\u0130x", True),
])
def test_examples(pattern: str, value: str, expected: bool) -> None:
    assert compile_glob(pattern, ignore_case=True)(value) is expected


def test_fold_case_keeps_the_length() -> None:
    assert fold_case("AbC") == "abc"
    assert len(fold_case("\u0130stanbul")) == len("\u0130stanbul")


HOSTILE_PATTERNS = ["/files/*/*/*.pdf", "*a*a*a*a*b", "/*/*/*/*/*?x", "*/?*/?*/?*.pdf", "?*?*?*?*z"]


def test_a_16_kb_hostile_value_is_matched_in_well_under_a_second() -> None:
    """Issue: one 3 KB path froze the event loop 5.5 s with `/files/*/*/*.pdf` (16 KB: minutes)."""
    values = ["/files/" + "/" * 16_384, "/files/" + "a/" * 8192 + "x.pdx", "a" * 16_384, "/" * 16_384 + "y"]
    globs = [compile_glob(p, ignore_case=case) for p in HOSTILE_PATTERNS for case in (False, True)]
    started = time.perf_counter()
    results = [g(v) for g in globs for v in values]
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"{len(results)} matches took {elapsed:.2f} s"


def test_a_16_kb_hostile_request_through_the_rule_table() -> None:
    """The same through RuleTable, as the listener uses it (path, host, header and query)."""
    from test_rules import condition, request, rule

    table = RuleTable([
        rule(1, condition("[{Field: path-pattern, Values: ['/files/*/*/*.pdf']}]"), "path"),
        rule(2, condition("[{Field: host-header, Values: ['*.*.*.*.example.com']}]"), "host"),
        rule(3, condition("[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X-A, Values: ['*a*a*a*b']}}]"),
             "header"),
        rule(4, condition("[{Field: query-string, QueryStringConfig: {Values: [{Key: q, Value: '*/*/*/*x'}]}}]"),
             "query"),
        rule(None, (), "default"),
    ])
    hostile: RequestFacts = request(path="/files/" + "/" * 16_384, host="." * 16_384,
                                    headers=[("X-A", "a" * 16_384)], query="q=" + "/" * 16_384)
    started = time.perf_counter()
    matched = table.match(hostile)
    elapsed = time.perf_counter() - started
    assert matched is not None and matched.key == "default"
    assert elapsed < 0.5, f"one request took {elapsed:.2f} s"
