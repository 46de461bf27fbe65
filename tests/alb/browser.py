"""A small scripted browser for the login flow: keeps cookies per host by hand (so tests
can drop, tamper or replay them), follows redirects one at a time, and maps the test host
names (app.test, other.test) to albauth's loopback listener, like a hosts file."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDictProxy


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    url: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    @property
    def set_cookies(self) -> list[str]:
        return self.headers.getall("Set-Cookie", [])

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class _FormParser(HTMLParser):
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


@dataclass
class Browser:
    session: aiohttp.ClientSession
    albauth_origin: str  # e.g. https://127.0.0.1:8443 — where app.test really lives
    jar: dict[str, dict[str, str]] = field(default_factory=dict)  # host -> cookies
    cookie_lines: list[str] = field(default_factory=list)  # every Set-Cookie seen, in order

    def cookies(self, host: str = "app.test") -> dict[str, str]:
        return self.jar.setdefault(host, {})

    def _route(self, url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        host = parts.netloc
        if parts.hostname in ("app.test", "other.test"):
            return self.albauth_origin + (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), host
        return url, host

    async def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                      data: Any = None, cookies: bool = True) -> Reply:
        real_url, host = self._route(url)
        hdrs = {"Host": host}
        jar_host = host.split(":")[0] if "127.0.0.1" not in host else host
        if cookies and self.cookies(jar_host):
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies(jar_host).items())
        hdrs.update(headers or {})
        async with self.session.request(method, real_url, headers=hdrs, data=data, allow_redirects=False,
                                        ssl=_NO_VERIFY) as resp:
            body = await resp.read()
            reply = Reply(resp.status, resp.headers, body, url)
        for line in reply.set_cookies:
            self.cookie_lines.append(line)
            self._store(jar_host, line)
        return reply

    def _store(self, host: str, line: str) -> None:
        parsed = SimpleCookie()
        parsed.load(line)
        for name, morsel in parsed.items():
            gone = morsel["max-age"] == "0" or "1970" in morsel["expires"]
            if gone:
                self.cookies(host).pop(name, None)
            else:
                self.cookies(host)[name] = morsel.value

    async def get(self, url: str, **kw: Any) -> Reply:
        return await self.request("GET", url, **kw)

    async def login(self, url: str = "https://app.test/", username: str = "alice", password: str | None = None
                    ) -> Reply:
        """Request `url`, sign in at the provider's form, and come back; returns the
        final response of albauth (the page itself)."""
        first = await self.get(url)
        assert first.status == 302, (first.status, first.body[:300])
        callback = await self.sign_in(first.location, username, password)
        done = await self.get(callback)
        assert done.status == 302, (done.status, done.body[:300])
        return await self.get(_absolute(done.location, url))

    async def sign_in(self, authorize_url: str, username: str = "alice", password: str | None = None) -> str:
        """At the provider: open the login form and submit it; returns the callback URL."""
        page = await self.get(authorize_url)
        while page.status == 302 and page.location.startswith("/"):  # Cognito: /oauth2/authorize -> /login
            authorize_url = _absolute(page.location, authorize_url)
            page = await self.get(authorize_url)
        assert page.status == 200, (page.status, page.body[:500])
        form = _FormParser()
        form.feed(page.body.decode())
        fields = dict(form.fields)
        fields.update(username=username, password=password if password is not None else username)
        action = form.action or urlsplit(authorize_url).path
        base = "{0.scheme}://{0.netloc}".format(urlsplit(authorize_url))
        target = action if action.startswith("http") else base + action
        posted = await self.request("POST", target, data=fields)
        assert posted.status == 302, (posted.status, posted.body[:500])
        return posted.location


def _absolute(location: str, base: str) -> str:
    if location.startswith("/"):
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}{location}"
    return location


_NO_VERIFY = ssl.create_default_context()
_NO_VERIFY.check_hostname = False
_NO_VERIFY.verify_mode = ssl.CERT_NONE

_SHARD = re.compile(r"^(?P<name>.+)-(?P<i>\d)$")
