"""The authorize redirect's query components: escaped exactly as quote(value, safe="")
would, whatever the shortcut (unreserved as is, base64 by a table, the rest quoted)."""

from __future__ import annotations

import base64
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from albauth.auth.action import _component


@given(st.text())
def test_any_text_is_escaped_as_quote_escapes_it(value: str) -> None:
    assert _component(value) == quote(value, safe="")


@given(st.binary(max_size=400))
def test_a_base64_state_is_escaped_as_quote_escapes_it(raw: bytes) -> None:
    value = base64.b64encode(raw).decode()
    assert _component(value) == quote(value, safe="")


@given(st.text(alphabet="ABCxyz019+/=._~-% :", max_size=50))
def test_values_near_the_shortcuts_edges_are_escaped_as_quote_escapes_them(value: str) -> None:
    assert _component(value) == quote(value, safe="")
