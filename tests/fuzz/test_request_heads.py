"""Request heads sent byte for byte over a socket: huge, many headers, non-ASCII, CR and LF
inside values, `_`-spelled and case-mangled identity headers, duplicated or missing Host,
odd methods; with and without a real session, on an authenticated and a forward-only rule.

Properties (the upstream is healthy, so a 5xx would be albauth's own): albauth answers with
a status below 500; the upstream never sees an x-amzn-oidc-* header (under any spelling)
that albauth did not set, so the forged identity never arrives; with a session the upstream
sees exactly that session's identity."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.alb.conftest import Alb, StartAlb, Upstream

from .harness import Forwarded, fuzz_settings, header_value, identity_headers, raw_exchange

FORGED = "forged-identity"
IDENTITY_NAMES = ["x-amzn-oidc-identity", "X-Amzn-Oidc-Identity", "X_Amzn_Oidc_Identity", "x_amzn_oidc_data",
                  "X-AMZN-OIDC-ACCESSTOKEN", "x-amzn-oidc-data", "x-amzn_oidc-identity", "X-Amzn-Oidc-Other"]
ALBAUTHS = {"x-amzn-oidc-accesstoken", "x-amzn-oidc-identity", "x-amzn-oidc-data"}
TOKEN = st.text(st.sampled_from("abcxyzABC-_!#$%&'*+.^`|~0123456789"), min_size=1, max_size=20)
# Odd methods in one example of six: albauth answers most of them 400 before the rules run.
METHODS = st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"] * 5
                          + ["TRACE", "get", "PROPFIND", "M-SEARCH", "CONNECT", "token"]).flatmap(
    lambda m: TOKEN if m == "token" else st.just(m))
VALUE = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).map(str.encode),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=40).map(str.encode),
)
HUGE = st.integers(1000, 20000).map(lambda n: b"v" * n)  # over 16 KiB a field, 64 KiB a head: 400
# Each way of smuggling a second header line into a value.
INJECTED = st.sampled_from([b"\r\n", b"\n", b"\r", b"\r\n ", b"\n\t", b"\x00\r\n", b"\r\r\n"]).map(
    lambda sep: b"ok" + sep + b"X-Amzn-Oidc-Identity: " + FORGED.encode())


@dataclass
class Scene:
    alb: Alb
    session_cookie: str
    identity: str


@pytest.fixture
async def scene(start_alb: StartAlb, upstream: Upstream) -> Scene:
    """Default action authenticate; `/public/*` forwards without authentication."""
    forward = {"Type": "forward", "Order": 1, "TargetGroupArn": "app"}
    public = {"Priority": 1, "Conditions": [{"Field": "path-pattern", "Values": ["/public/*"]}], "Actions": [forward]}
    alb = await start_alb(rules=[public])
    page = await alb.browser.login("https://app.test/")
    assert page.status == 200
    identity = header_value(upstream.last, "x-amzn-oidc-identity")
    assert identity
    cookie = "; ".join(f"{k}={v}" for k, v in alb.browser.cookies().items() if k.startswith("AWSELBAuthSession"))
    return Scene(alb, cookie, identity)


def header_lines() -> st.SearchStrategy[list[bytes]]:
    forged = st.tuples(st.sampled_from(IDENTITY_NAMES), st.just(FORGED.encode())).map(lambda t: t[0].encode()
                                                                                       + b": " + t[1])
    plain = st.tuples(TOKEN.map(str.encode), VALUE).map(lambda t: t[0] + b": " + t[1])
    framing = st.tuples(st.sampled_from([b"Host", b"Cookie", b"Content-Length", b"Transfer-Encoding", b"Connection",
                                         b"Upgrade", b"Expect"]), VALUE).map(lambda t: t[0] + b": " + t[1])
    huge = st.tuples(st.sampled_from(IDENTITY_NAMES + ["X-Big"]).map(str.encode), HUGE).map(
        lambda t: t[0] + b": " + t[1])
    injected = st.tuples(TOKEN.map(str.encode), INJECTED).map(lambda t: t[0] + b": " + t[1])
    odd = st.one_of(st.sampled_from([b"X-Amzn-Oidc-Identity : " + FORGED.encode(), b" continued",
                                     b"\tX-Amzn-Oidc-Identity: " + FORGED.encode(), b"NoColon",
                                     b": empty-name", b"Host: other.test"]),
                    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")),  # control bytes, obs-text, NUL
                    TOKEN.map(lambda t: t.encode() + b": " + "é".encode("latin-1")))
    # Mostly well-formed lines (so most requests get past the parser and the strip is what is
    # tested), in half the examples one or two that a strict parser may refuse, and sometimes very many headers.
    well_formed = st.lists(st.one_of(forged, plain), max_size=10)
    some_risky = st.lists(st.one_of(framing, injected, odd, huge), min_size=1, max_size=2)
    risky: st.SearchStrategy[list[bytes]] = st.one_of(st.just([]), some_risky)
    many = st.integers(0, 200).map(lambda n: [b"X-Many-%d: %d" % (i, i) for i in range(n)])
    return st.tuples(well_formed, risky, many).flatmap(lambda t: st.permutations(t[0] + t[1]).map(
        lambda lines: lines + t[2]))


@fuzz_settings(60)
@given(method=METHODS, path=st.sampled_from(["/app", "/public/x"]), with_session=st.booleans(),
       host=st.sampled_from([[b"Host: app.test"]] * 6 + [[], [b"Host: app.test", b"Host: app.test"],
                             [b"Host: app.test", b"Host: other.test"], [b"Host: \xc3\xa9.test"]]),
       lines=header_lines())
async def test_request_heads_never_crash_or_inject_identity(scene: Scene, upstream: Upstream, method: str, path: str,
                                                            with_session: bool, host: list[bytes],
                                                            lines: list[bytes]) -> None:
    cookie = [b"Cookie: " + scene.session_cookie.encode()] if with_session else []
    head = b"\r\n".join([f"{method} {path} HTTP/1.1".encode(), *host, *cookie, *lines, b"Connection: close"])
    seen = Forwarded(upstream)
    reply = await raw_exchange(scene.alb.port, head + b"\r\n\r\n")
    assert reply is not None, "albauth closed the connection without an answer"
    event(f"{path} {reply.status}")
    assert reply.status < 500, (reply.status, reply.body[:300])
    for record in seen.records:
        found = identity_headers(record)
        assert all(FORGED not in v for _, v in found), found
        assert {k.lower() for k, _ in found} <= ALBAUTHS, found
        if found:  # only albauth's own, for the real session
            assert sorted(k.lower() for k, _ in found) == sorted(ALBAUTHS), found
            assert header_value(record, "x-amzn-oidc-identity") == scene.identity
        elif path == "/app":
            raise AssertionError(f"forwarded on the authenticated rule without identity: {record}")
