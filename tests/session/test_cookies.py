"""ALB's session cookie shards (spec 3, checklist 35, 36, 38)."""

from __future__ import annotations

import base64
import os
import re
from email.utils import parsedate_to_datetime

import pytest

from albauth.session import (
    MAX_SET_COOKIE_LINE,
    CookiePolicy,
    SessionTooLarge,
    expire,
    replace_shards,
    shard,
    shard_indices,
    unshard,
)

from .helpers import NAME, T0, apply, cookie_pairs

POLICY = CookiePolicy()


def _b64(size: int) -> str:
    """A standard-base64 string of about `size` characters, ending in padding."""
    return base64.b64encode(os.urandom(size * 3 // 4 - 1)).decode()


def test_one_base64_string_cut_into_consecutive_pieces() -> None:
    value = _b64(9000)
    assert value.endswith("=")
    headers = shard(NAME, value, POLICY, T0)
    assert len(headers) == 3
    pairs = cookie_pairs(headers)
    assert [n for n, _, _ in pairs] == [f"{NAME}-0", f"{NAME}-1", f"{NAME}-2"]
    joined = "".join(v for _, v, _ in pairs)
    assert joined == value
    assert base64.b64decode(joined, validate=True)
    # Only the last piece may end with padding.
    assert not any(v.endswith("=") for _, v, _ in pairs[:-1])


def test_every_set_cookie_line_fits_4096_bytes() -> None:
    for policy in (POLICY, CookiePolicy(same_site_none=True), CookiePolicy(secure=False)):
        for header in shard(NAME, _b64(15000), policy, T0):
            assert len(f"Set-Cookie: {header}".encode()) <= MAX_SET_COOKIE_LINE


def test_first_shard_is_close_to_albs_3984_characters() -> None:
    # ALB's observed -0 is 3,984 characters; our Max-Age attribute costs a few more bytes.
    first = cookie_pairs(shard(NAME, _b64(9000), POLICY, T0))[0][1]
    assert len(first) == 3976 and len(first) % 4 == 0
    assert len(f"Set-Cookie: {shard(NAME, _b64(9000), POLICY, T0)[0]}") > 4090


def test_attributes_are_albs() -> None:
    header = shard(NAME, "AAAA", POLICY, T0)[0]
    _, _, attrs = cookie_pairs([header])[0]
    parts = [p.strip() for p in attrs.split(";") if p.strip()]
    assert "Path=/" in parts and "Secure" in parts and "HttpOnly" in parts
    assert "Max-Age=604800" in parts
    assert not any(p.startswith(("Domain", "SameSite")) for p in parts)


def test_expires_is_seven_days_ahead_in_rfc1123() -> None:
    header = shard(NAME, "AAAA", POLICY, T0)[0]
    expires = re.search(r"Expires=([^;]+)", header)
    assert expires and expires.group(1).endswith(" GMT")
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT",
                        expires.group(1))
    assert parsedate_to_datetime(expires.group(1)).timestamp() == T0 + 604800


def test_samesite_none_only_when_asked_and_secure() -> None:
    assert "; SameSite=None" in shard(NAME, "AAAA", CookiePolicy(same_site_none=True), T0)[0]
    insecure = shard(NAME, "AAAA", CookiePolicy(secure=False, same_site_none=True), T0)[0]
    assert "Secure" not in insecure and "SameSite" not in insecure


def test_more_than_four_shards_is_refused() -> None:
    assert len(shard(NAME, "A" * (4 * 3976), POLICY, T0)) == 4
    with pytest.raises(SessionTooLarge):
        shard(NAME, "A" * (4 * 3976 + 4), POLICY, T0)


def test_expire_deletes_with_the_same_path() -> None:
    headers = expire(NAME, [2, 3])
    assert [n for n, _, _ in cookie_pairs(headers)] == [f"{NAME}-2", f"{NAME}-3"]
    for header in headers:
        assert "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in header
        assert "; Max-Age=0" in header and "; Path=/" in header
    assert "; Secure" in expire(NAME, [1], POLICY)[0]


def test_unshard_reassembles_up_to_the_first_gap() -> None:
    cookies = {f"{NAME}-0": "AA", f"{NAME}-1": "BB", f"{NAME}-3": "DD"}
    assert unshard(cookies, NAME) == "AABB"
    assert unshard({f"{NAME}-0": "AA"}, NAME) == "AA"


def test_unshard_without_shard_0_is_none() -> None:
    assert unshard({f"{NAME}-1": "BB"}, NAME) is None
    assert unshard({}, NAME) is None
    assert unshard({f"{NAME}-0": "AA"}, "Other") is None


def test_shard_indices_include_gaps() -> None:
    assert shard_indices({f"{NAME}-0": "", f"{NAME}-2": "", "x": ""}, NAME) == [0, 2]


def test_replace_shards_expires_the_stale_tail() -> None:
    jar = apply({}, shard(NAME, _b64(9000), POLICY, T0))
    assert len(jar) == 3
    headers = replace_shards(NAME, "AAAA", jar, POLICY, T0)
    assert apply(jar, headers) == {f"{NAME}-0": "AAAA"}
    assert replace_shards(NAME, "AAAA", {}, POLICY, T0) == shard(NAME, "AAAA", POLICY, T0)


def test_a_name_leaving_no_room_is_refused() -> None:
    with pytest.raises(ValueError):
        shard("n" * 4100, "AAAA", POLICY, T0)
