"""The session and its compact wire form."""

from __future__ import annotations

import re
from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from albauth.session import Session, binding_for, new_sid

from .helpers import make_session


def test_wire_form_round_trips_every_field() -> None:
    session = make_session()
    again = Session.from_bytes(session.to_bytes())
    assert again == session and list(again.claims) == list(session.claims)


def test_big_tokens_are_deflated() -> None:
    session = make_session(access_token_size=9000)
    data = session.to_bytes()
    assert data[:1] == b"z" and len(data) < 9000


def test_deflate_is_used_only_when_smaller() -> None:
    import zlib

    for session in (make_session(), Session("s", "b", {"q": 1}, "t", None, None, 1, 2)):
        data = session.to_bytes()
        assert data[:1] == b"z"
        assert len(data) - 1 < len(zlib.decompress(data[1:], -15))


def test_the_plain_form_is_read() -> None:
    doc = b'{"s":"s","b":"b","c":{"sub":"x"},"a":"t","t":1,"e":2}'
    assert Session.from_bytes(b"j" + doc) == Session("s", "b", {"sub": "x"}, "t", None, None, 1, 2)


def test_any_mapping_of_claims_serialises() -> None:
    session = make_session(claims=MappingProxyType({"sub": "x", "b": 1}))
    assert dict(Session.from_bytes(session.to_bytes()).claims) == {"sub": "x", "b": 1}


def test_sub_is_the_userinfo_sub() -> None:
    assert make_session(claims={"email": "e", "sub": "abc"}).sub == "abc"


@given(st.binary(max_size=200))
def test_from_bytes_only_ever_raises_value_error(data: bytes) -> None:
    try:
        Session.from_bytes(data)
    except ValueError:
        pass


def test_from_bytes_rejects_wrong_types() -> None:
    import json

    for doc in ({"s": 1, "b": "b", "c": {}, "a": "t", "t": 1, "e": 2},
                {"s": "s", "b": "b", "c": [], "a": "t", "t": 1, "e": 2},
                {"s": "s", "b": "b", "c": {}, "a": "t", "t": True, "e": 2},
                {"s": "s", "b": "b", "c": {}, "a": "t", "t": 1}):
        try:
            Session.from_bytes(b"j" + json.dumps(doc).encode())
        except ValueError:
            continue
        raise AssertionError(f"accepted {doc}")


def test_new_sid_is_128_random_bits_that_never_look_like_an_option() -> None:
    """Hex: a sid starting with `-` was read by `albauth sessions revoke --sid` as an option."""
    sids = {new_sid() for _ in range(100)}
    assert len(sids) == 100
    assert all(re.fullmatch(r"[0-9a-f]{32}", s) for s in sids)
    assert re.fullmatch(r"[0-9a-f]{32}", Session.new_sid())


def test_binding_depends_on_cookie_name_issuer_and_client() -> None:
    base = binding_for("AWSELBAuthSessionCookie", "https://idp", "app")
    assert base == binding_for("AWSELBAuthSessionCookie", "https://idp", "app")
    assert base == Session.binding_for("AWSELBAuthSessionCookie", "https://idp", "app")
    assert len({base,
                binding_for("Other", "https://idp", "app"),
                binding_for("AWSELBAuthSessionCookie", "https://idp2", "app"),
                binding_for("AWSELBAuthSessionCookie", "https://idp", "app2"),
                binding_for("AWSELBAuthSessionCookie", "https://idp\0app", ""),
                }) == 5
    assert len(base) <= 32
