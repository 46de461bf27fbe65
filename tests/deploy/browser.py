"""A browser-like HTTP client for the image's login test: urllib with a cookie jar, no
redirects followed automatically (each hop is asserted), and the provider's login form parsed
and posted as a user would."""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Reply:
    status: int
    location: str
    body: str


class _LoginForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.action:
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden" and "name" in a:
            self.fields[a["name"]] = a.get("value", "")


@dataclass
class Browser:
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def request(self, url: str, data: dict[str, str] | None = None) -> Reply:
        opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPCookieProcessor(self.jar))
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with opener.open(urllib.request.Request(url, data=body), timeout=10) as reply:
                return Reply(reply.status, reply.headers.get("Location", ""), reply.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers.get("Location", ""), error.read().decode())

    def follow(self, url: str, data: dict[str, str] | None = None, expect: int = 302) -> str:
        """One hop; returns the absolute Location it redirects to."""
        reply = self.request(url, data)
        assert reply.status == expect, (url, reply.status, reply.body[:500])
        return urllib.parse.urljoin(url, reply.location)

    def login(self, url: str, username: str) -> str:
        """GET `url` → the provider → its form posted → albauth's callback → `url` again;
        returns the final page."""
        authorize = self.follow(url)
        page = self.request(authorize)
        assert page.status == 200, (authorize, page.status, page.body[:500])
        form = _LoginForm()
        form.feed(page.body)
        fields = {**form.fields, "username": username, "password": username}
        callback = self.follow(urllib.parse.urljoin(authorize, form.action or authorize), fields)
        assert "/oauth2/idpresponse" in callback, callback
        back = self.follow(callback)
        final = self.request(back)
        assert final.status == 200, (back, final.status, final.body[:500])
        return final.body
