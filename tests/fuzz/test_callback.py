"""/oauth2/idpresponse with random state, code, error and extra parameters, with and
without the nonce cookie; sometimes with a real code from the provider.

Properties: albauth answers every request, never with a 5xx other than ALB's documented 500
(token endpoint failures) and 561 (the provider's `error`); a session cookie only comes
back when the request carried a real code, the real state and its nonce cookie."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from hypothesis import event, given
from hypothesis import strategies as st

from albauth.auth.state import NONCE_COOKIE
from tests.alb.conftest import Alb

from .harness import fuzz_settings, raw_exchange

SESSION_COOKIE = "AWSELBAuthSessionCookie-"
PROVIDER_FAILURES = {500, 561}  # spec: token endpoint errors -> 500, provider's error -> 561
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
# The real value is listed more than once so that the deeper checks (nonce, code) run often.
STATE = st.sampled_from(["real", "real", "real", "flipped", "random", "absent", "real+random", "random+real", "empty"])
CODE = st.sampled_from(["real", "real", "random", "absent", "empty"])
NONCE = st.sampled_from(["real", "real", "real", "absent", "random", "empty"])


def _flip(value: str) -> str:
    return value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]


def _state_params(choice: str, real: str, random: str) -> list[tuple[str, str]]:
    return {"real": [("state", real)], "flipped": [("state", _flip(real))], "random": [("state", random)],
            "absent": [], "real+random": [("state", real), ("state", random)],
            "random+real": [("state", random), ("state", real)], "empty": [("state", "")]}[choice]


async def start_login(alb: Alb, with_code: bool) -> tuple[str, str, str]:
    """(state, nonce cookie, code) of a login albauth started; code is "" unless asked for."""
    first = await alb.browser.get("https://app.test/start", cookies=False)
    assert first.status == 302
    state = dict(parse_qsl(urlsplit(first.location).query))["state"]
    nonce = next(c.split(";")[0].partition("=")[2] for c in first.set_cookies if c.startswith(NONCE_COOKIE))
    if not with_code:
        return state, nonce, ""
    callback = await alb.browser.sign_in(first.location)
    params = dict(parse_qsl(urlsplit(callback).query))
    assert params["state"] == state
    return state, nonce, params["code"]


@fuzz_settings(40)
@given(state=STATE, code=CODE, nonce=NONCE, error=st.none() | TEXT, random=TEXT,
       extra=st.lists(st.tuples(TEXT, TEXT), max_size=4), junk=st.none() | st.text(
           st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="#"), max_size=40))
async def test_callback_queries_never_crash_or_log_in_without_a_real_login(
        alb: Alb, state: str, code: str, nonce: str, error: str | None, random: str,
        extra: list[tuple[str, str]], junk: str | None) -> None:
    real_state, real_nonce, real_code = await start_login(alb, with_code=code == "real")
    params = _state_params(state, real_state, random)
    params += {"real": [("code", real_code)], "random": [("code", random)], "absent": [],
               "empty": [("code", "")]}[code]
    if error is not None:
        params.append(("error", error))
    params += extra
    query = urlencode(params, quote_via=quote) + (f"&{junk}" if junk is not None else "")
    cookie = {"real": real_nonce, "absent": None, "random": quote(random), "empty": ""}[nonce]
    cookie_line = f"Cookie: {NONCE_COOKIE}={cookie}\r\n" if cookie is not None else ""
    head = (f"GET /oauth2/idpresponse?{query} HTTP/1.1\r\nHost: app.test\r\n{cookie_line}"
            "Connection: close\r\n\r\n").encode()
    reply = await raw_exchange(alb.port, head)
    assert reply is not None, "albauth closed the connection without an answer"
    event(f"{reply.status} {reply.all('x-alb-emulator-error-reason')}")
    assert reply.status < 500 or reply.status in PROVIDER_FAILURES, (reply.status, reply.body[:300])
    logged_in = any(c.startswith(SESSION_COOKIE) and c.split(";")[0].partition("=")[2]
                    for c in reply.all("set-cookie"))
    if logged_in:
        assert code == "real" and nonce == "real" and state in ("real", "real+random"), (params, reply.status)
    clean = code == "real" and nonce == "real" and state == "real" and error is None and not extra and not junk
    if clean:
        assert reply.status == 302 and logged_in, (reply.status, reply.all("set-cookie"))
