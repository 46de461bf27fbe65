"""`session_shards` reads the session's cookies without the full Cookie parser; it must agree
with aiohttp's `request.cookies` wherever it answers at all."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request
from hypothesis import given, settings
from hypothesis import strategies as st

from albauth.session.cookies import session_shards

NAME = "AWSELBAuthSessionCookie"
_names = st.sampled_from([f"{NAME}-0", f"{NAME}-1", f"{NAME}-3", "other", "AWSALBAuthNonce", f"{NAME}-9"])
# RFC 6265 cookie-octets (what base64 session values are made of); malformed headers may
# differ, which is harmless: a session value must still decrypt and authenticate.
_values = st.text(alphabet="ABCxyz019+/=_-.!#$%&*", max_size=12)
_pairs = st.lists(st.tuples(_names, _values), max_size=6)


def _header(pairs: list[tuple[str, str]], sep: str) -> str:
    return sep.join(f"{k}={v}" for k, v in pairs)


@settings(max_examples=300, deadline=None)
@given(_pairs, st.sampled_from(["; ", ";", " ; "]))
def test_agrees_with_aiohttps_cookie_parser(pairs: list[tuple[str, str]], sep: str) -> None:
    header = _header(pairs, sep)
    fast = session_shards(header, NAME)
    assert fast is not None
    full = make_mocked_request("GET", "/", headers={"Cookie": header}).cookies
    expected = {k: v for k, v in full.items() if k.startswith(f"{NAME}-") and k[-1] in "0123"}
    assert fast == expected


def test_quoted_values_are_left_to_the_full_parser() -> None:
    assert session_shards(f'{NAME}-0="abc"', NAME) is None


def test_no_session_cookie_gives_nothing() -> None:
    assert session_shards("a=b; c=d", NAME) == {}
