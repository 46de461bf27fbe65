"""`rd` of /oauth2/start: no open redirect (albauth.return_url), checked directly and over HTTP."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from albauth.return_url import allowed_return_url

from .conftest import StartFa

OWN = "app.example.com"
DOMAINS = (".example.com", "partner.test")

REFUSED = [
    "//evil.test/x",  # scheme-relative: another host
    "///evil.test/x",
    "/\\evil.test/x",  # browsers read `\` as `/`
    "\\\\evil.test/x",
    "https:\\\\evil.test",
    "https://evil.test/",
    "http://evil.test",
    "https://app.example.com.evil.test/",  # the allowed name as a prefix
    "https://evilexample.com/",  # the domain without its dot
    "https://app.example.com@evil.test/",  # userinfo: the host is evil.test
    "https://app.example.com:443@evil.test/",
    "https://evil.test@app.example.com/",  # readers that stop at the first `@` go to evil.test
    "https://evil.test#@app.example.com/",
    "https://evil.test\\@app.example.com/",
    "https://evil.test%2f@app.example.com/",
    "https://evil%2etest/",
    "javascript:alert(1)//app.example.com",
    "data:text/html,hi",
    "ftp://app.example.com/",
    "https:app.example.com",  # no authority
    "https:/app.example.com",
    "https://app.example.com:99999/",  # not a port
    "https://app.example.com:x/",
    "/\tpath", "/\npath", "\t//evil.test", "/ /evil.test",  # whitespace browsers drop or mangle
    "https://xn--80ak6aa92e.com/", "https://ex\u00e4mple.com/",  # other names; non-ASCII
    "https://partner.test.evil/",
    "https://sub.partner.test/",  # partner.test is exact, not a domain
    "",
]

ALLOWED = [
    ("/", f"https://{OWN}/"),
    ("/a/b?c=d&e=f", f"https://{OWN}/a/b?c=d&e=f"),
    (f"https://{OWN}/x", f"https://{OWN}/x"),
    (f"http://{OWN}:8080/x", f"http://{OWN}:8080/x"),
    ("HTTPS://APP.example.com/x", "HTTPS://APP.example.com/x"),
    ("https://example.com/", "https://example.com/"),
    ("https://deep.sub.example.com/p", "https://deep.sub.example.com/p"),
    ("https://partner.test/", "https://partner.test/"),
]


@pytest.mark.parametrize("rd", REFUSED)
def test_refused_return_urls(rd: str) -> None:
    assert allowed_return_url(rd, scheme="https", host=OWN, allowed_domains=DOMAINS) is None


@pytest.mark.parametrize(("rd", "url"), ALLOWED)
def test_allowed_return_urls(rd: str, url: str) -> None:
    assert allowed_return_url(rd, scheme="https", host=OWN, allowed_domains=DOMAINS) == url


def test_by_default_only_the_request_host_is_allowed() -> None:
    assert allowed_return_url("https://app.test:8443/x", scheme="https", host="app.test:8443",
                              allowed_domains=()) == "https://app.test:8443/x"
    assert allowed_return_url("https://other.app.test/x", scheme="https", host="app.test",
                              allowed_domains=()) is None


@pytest.mark.parametrize("rd", ["//evil.test/x", "https://evil.test/", "https://app.test@evil.test/",
                                "https://app.test.evil/", "/\\evil.test", "javascript:alert(1)"])
async def test_start_refuses_a_foreign_rd_with_400(start_fa: StartFa, rd: str) -> None:
    alb = await start_fa(forward_auth={"enabled": True, "allowed_redirect_domains": [".example.com"]})
    async with alb.http.get(f"{alb.url}/oauth2/start?rd={quote(rd, safe='')}", headers={"Host": "app.test"},
                            allow_redirects=False) as resp:
        assert resp.status == 400
        assert "Location" not in resp.headers


async def test_start_refuses_a_foreign_x_auth_request_redirect(start_fa: StartFa) -> None:
    alb = await start_fa()
    async with alb.http.get(f"{alb.url}/oauth2/start", allow_redirects=False, headers={
            "Host": "app.test", "X-Auth-Request-Redirect": "https://evil.test/"}) as resp:
        assert resp.status == 400


async def test_start_accepts_an_allowed_domain(start_fa: StartFa) -> None:
    alb = await start_fa(forward_auth={"enabled": True, "allowed_redirect_domains": [".example.com"]})
    async with alb.http.get(f"{alb.url}/oauth2/start?rd={quote('https://app.example.com/x', safe='')}",
                            headers={"Host": "app.test"}, allow_redirects=False) as resp:
        assert resp.status == 302
        assert "redirect_uri=https%3A%2F%2Fapp.test%2Foauth2%2Fidpresponse" in resp.headers["Location"]
