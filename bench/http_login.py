"""Plain http.client requests (no redirects, no cookie jar) and a browser's login through
albauth and the built-in provider, for the authenticated scenarios."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

from common import SESSION_COOKIE, UPSTREAM_BODY


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def set_cookies(self) -> dict[str, str]:
        out = {}
        for k, v in self.headers:
            if k.lower() == "set-cookie":
                pair = v.split(";", 1)[0]
                name, _, value = pair.partition("=")
                out[name.strip()] = value.strip()
        return out


def http_request(method: str, url: str, headers: dict[str, str] | None = None,
                 body: bytes | None = None) -> Reply:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden" and "name" in a:
            self.fields[a["name"]] = a.get("value", "")


def login(base: str, username: str = "alice") -> str:
    """Log in through albauth and the built-in provider as a browser would; returns the
    Cookie header carrying the session shards (for the Host of `base`)."""
    first = http_request("GET", base + "/")
    assert first.status == 302, f"expected a login redirect, got {first.status}: {first.body[:200]!r}"
    jar = first.set_cookies()
    authorize = first.header("Location")
    page = http_request("GET", authorize)
    assert page.status == 200, f"provider login page: {page.status}"
    callback = post_login_form(authorize, page, username).header("Location")
    assert callback.startswith(base + "/oauth2/idpresponse"), callback
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    done = http_request("GET", callback, {"Cookie": cookie})
    assert done.status == 302, f"callback: {done.status}: {done.body[:300]!r}"
    shards = {k: v for k, v in done.set_cookies().items() if k.startswith(SESSION_COOKIE + "-") and v}
    assert shards, f"no session cookies in {done.headers}"
    return "; ".join(f"{k}={v}" for k, v in sorted(shards.items()))


def login_form(authorize: str, page: str, username: str) -> tuple[str, dict[str, str]]:
    """Where the provider's sign-in page posts, and the fields for `username` (the password
    is the same): its hidden fields kept."""
    form = _Form()
    form.feed(page)
    fields = dict(form.fields, username=username, password=username, action="login")
    p = urlsplit(authorize)
    target = form.action if form.action.startswith("http") else f"{p.scheme}://{p.netloc}{form.action or p.path}"
    return target, fields


def post_login_form(authorize: str, page: Reply, username: str) -> Reply:
    """The built-in provider's sign-in form, posted as `username` (the password is the same);
    its 302 to the proxy's callback."""
    target, fields = login_form(authorize, page.body.decode(), username)
    posted = http_request("POST", target, {"Content-Type": "application/x-www-form-urlencoded"},
                          urlencode(fields).encode())
    assert posted.status == 302, f"provider form post: {posted.status}: {posted.body[:200]!r}"
    return posted


def check_ok(url: str, cookie: str = "") -> None:
    reply = http_request("GET", url + "/", {"Cookie": cookie} if cookie else {})
    if reply.status != 200 or reply.body != UPSTREAM_BODY.encode():
        raise RuntimeError(f"{url}: expected 200 {UPSTREAM_BODY!r}, got {reply.status} {reply.body[:200]!r}")
