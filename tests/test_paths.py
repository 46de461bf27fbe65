"""albauth.paths: one normal form of the request path (RFC 3986 2.3, 5.2.4, 6.2.2).

End to end against nginx, aiohttp and wsgiref targets: tests/alb/test_path_targets.py."""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albauth.config.model import ProxySettings
from albauth.paths import NormalTarget, PathPolicy, UnsafePath, _looks_normal, normalize_path, normalize_target

DEFAULT = PathPolicy()

NORMAL_FORMS = [
    ("/", "/"),
    ("/a/b", "/a/b"),
    ("/a/b/", "/a/b/"),
    ("/a/./b", "/a/b"),
    ("/a/b/.", "/a/b/"),
    ("/a/b/..", "/a/"),
    ("/a/../b", "/b"),
    ("/a/%2e%2E/b", "/b"),
    ("/a/.%2e/b", "/b"),
    ("//a///b//", "/a/b/"),
    ("/%7e%41%2d%5f%2E%30", "/~A-_.0"),
    ("/%c3%a9%20%3b%25", "/%C3%A9%20%3B%25"),
    ("/%2561", "/%2561"),
    ("/a;x/b", "/a;x/b"),
    ("/.../b", "/.../b"),
    ("/a/..../b", "/a/..../b"),
]

REFUSED = [
    "/a%2fb", "/a%2Fb", "/a%5cb", "/a%5Cb", "/a\\b", "/a%00", "/a\x01b", "/a\x7f", "/a#b",
    "/a%zz", "/a%2", "/a%", "/a%g0", "/a%+1", "/..", "/a/../..", "/%2e%2e", "/a/..;/b", "/a/.;x/b",
    "/a/%2e%2e;x/b", "/;x/a", "relative", "",
]


@pytest.mark.parametrize(("raw", "normal"), NORMAL_FORMS)
def test_normal_form(raw: str, normal: str) -> None:
    assert normalize_path(raw, DEFAULT) == normal


@pytest.mark.parametrize("raw", REFUSED)
def test_what_cannot_be_normalized_unambiguously_is_refused(raw: str) -> None:
    with pytest.raises(UnsafePath):
        normalize_path(raw, DEFAULT)


def test_the_query_is_kept_as_sent_and_only_a_changed_path_is_rewritten() -> None:
    assert normalize_target("/a/../b?x=%2F..%2f&y", DEFAULT) == NormalTarget("/b", "/b", "/b?x=%2F..%2f&y")
    assert normalize_target("/b?x=/../", DEFAULT) == NormalTarget("/b", "/b", None)
    assert normalize_target("/%62?", DEFAULT) == NormalTarget("/b", "/b", "/b?")
    assert normalize_target("/caf%C3%A9", DEFAULT) == NormalTarget("/caf%C3%A9", "/café", None)


def test_looser_settings() -> None:
    loose = PathPolicy.from_settings(ProxySettings(reject_encoded_slash=False, merge_slashes=False,
                                                   reject_dot_segment_parameters=False))
    assert normalize_path("/a/..%2fb", loose) == "/a/..%2Fb"  # one segment named `..%2Fb`
    assert normalize_path("//a//b/", loose) == "//a//b/"
    assert normalize_path("//..", loose) == "/"
    assert normalize_path("/a/..;x/b", loose) == "/a/..;x/b"
    assert normalize_target("/a%2fb", loose).decoded == "/a/b"
    with pytest.raises(UnsafePath):
        normalize_path("/a\\b", loose)  # never a setting: no unambiguous reading


SEGMENTS = ["a", "b", "", ".", "..", "%2e", "%2E", "%2e.", ".%2E", "%2e%2e", "%61", "...", "%20", "x.y"]


def browser_resolution(path: str) -> str | None:
    """What a browser does with the path (WHATWG URL: `%2e` is a dot in dot segments), with
    slashes merged first; None when it had to clamp a `..` at the root."""
    merged = re.sub("/+", "/", unquote(path))
    resolved = urlsplit(urljoin("http://h/", "/sentinel" + merged)).path
    if not resolved.startswith("/sentinel/"):
        return None
    return resolved[len("/sentinel"):]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(SEGMENTS), max_size=8))
def test_normalize_matches_a_browser_resolution(segments: list[str]) -> None:
    path = "/" + "/".join(segments)
    expected = browser_resolution(path)
    if expected is None:
        with pytest.raises(UnsafePath):
            normalize_path(path, DEFAULT)
        return
    normal = normalize_path(path, DEFAULT)
    assert unquote(normal) == expected


PATH_CHARS = st.sampled_from(list("/./.ab;%%%2eEfF05c\\#?~-") + ["%2e", "%2E", "%2f", "%5C", "%00", "//", "/..",
                                                               "/.", "%3B", "%41", "\x01", "é"])


@settings(max_examples=1000)
@given(st.lists(PATH_CHARS, max_size=20).map(lambda parts: "/" + "".join(parts)))
def test_normalize_is_idempotent_and_leaves_no_dot_segments(path: str) -> None:
    for policy in (DEFAULT, PathPolicy(merge_slashes=False)):
        try:
            normal = normalize_path(path, policy)
        except UnsafePath:
            continue
        assert normalize_path(normal, policy) == normal
        segments = normal.split("/")[1:]
        assert "." not in segments and ".." not in segments
        assert not re.search("%(2[eE]|[46][1-9a-fA-F]|[57][0-9aA]|3[0-9]|5[fF]|7[eE]|2[dD])", normal)
        if policy.merge_slashes:
            assert "//" not in normal


@settings(max_examples=1000)
@given(st.lists(PATH_CHARS, max_size=20).map(lambda parts: "/" + "".join(parts)))
def test_the_fast_check_only_passes_paths_that_are_already_normal(path: str) -> None:
    if _looks_normal(path):
        assert normalize_path(path, DEFAULT) == path
