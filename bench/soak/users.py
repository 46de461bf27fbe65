"""Simulated users: each logs in through a replica and the provider's form, as a browser
does, then browses with think time, every request to a random replica (an ALB spreads
requests over its nodes). A user sent back to the provider (session lost) counts an error
and logs in again. Every error is kept with its time, to be placed inside or outside the
injected fault windows."""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urlencode, urljoin

import aiohttp
from cluster import PASSWORD

SESSION_COOKIE = "AWSELBAuthSessionCookie"
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"')
_ACTION = re.compile(r'<form[^>]*action="([^"]*)"')


@dataclass
class Stats:
    logins: list[tuple[float, float]] = field(default_factory=list)  # (start, end) monotonic
    latencies: list[float] = field(default_factory=list)  # seconds, browsing requests answered 200
    errors: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, kind)
    error_replicas: list[str] = field(default_factory=list)  # the replica of each browsing error
    requests: int = 0


class LoginFailed(Exception):
    pass


class User:
    def __init__(self, index: int, http: aiohttp.ClientSession, replicas: list[str], idp: str, stats: Stats) -> None:
        self.index = index
        self.http = http
        self.replicas = replicas
        self.idp = idp
        self.stats = stats
        self.cookies: dict[str, str] = {}

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def _keep(self, response: aiohttp.ClientResponse) -> None:
        for line in response.headers.getall("Set-Cookie", ()):
            pair, _, attrs = line.partition(";")
            name, _, value = pair.strip().partition("=")
            if "max-age=0" in attrs.lower() or "1970" in attrs or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    async def login(self) -> None:
        """Until it succeeds (the provider may be down): each failed attempt is an error."""
        while True:
            start = time.monotonic()
            try:
                await self._login_once()
                self.stats.logins.append((start, time.monotonic()))
                return
            except (aiohttp.ClientError, TimeoutError, LoginFailed) as exc:
                self.stats.errors.append((start, time.monotonic(), f"login: {error_kind(exc)}"))
                await asyncio.sleep(1.0)

    async def _login_once(self) -> None:
        self.cookies.clear()
        base = random.choice(self.replicas)
        async with self.http.get(f"{base}/app/{self.index}", allow_redirects=False) as r:
            await r.read()
            if r.status != 302:
                raise LoginFailed(f"first request answered {r.status}")
            self._keep(r)
            authorize = r.headers["Location"]
        async with self.http.get(authorize, allow_redirects=False) as r:
            page = await r.text()
            if r.status != 200:
                raise LoginFailed(f"provider page answered {r.status}")
        fields = {k: unescape(v) for k, v in _HIDDEN.findall(page)}
        fields.update(username=f"user{self.index}", password=PASSWORD, action="login")
        action = _ACTION.search(page)
        target = urljoin(authorize, unescape(action.group(1)) if action and action.group(1) else authorize)
        async with self.http.post(target, data=urlencode(fields), allow_redirects=False,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"}) as r:
            await r.read()
            if r.status != 302:
                raise LoginFailed(f"provider form answered {r.status}")
            callback = r.headers["Location"]
        async with self.http.get(callback, headers=self._cookie_header(), allow_redirects=False) as r:
            await r.read()
            if r.status != 302:
                raise LoginFailed(f"callback answered {r.status}")
            self._keep(r)
        if not any(k.startswith(SESSION_COOKIE) for k in self.cookies):
            raise LoginFailed("no session cookie after the callback")

    async def browse(self, until: float, think: float) -> None:
        n = 0
        while True:
            await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))
            if time.monotonic() >= until:
                return
            n += 1
            base = random.choice(self.replicas)
            start = time.monotonic()
            self.stats.requests += 1
            try:
                async with self.http.get(f"{base}/app/{self.index}/{n}", headers=self._cookie_header(),
                                         allow_redirects=False) as r:
                    await r.read()
                    self._keep(r)
                    status, location = r.status, r.headers.get("Location", "")
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.stats.errors.append((start, time.monotonic(), error_kind(exc)))
                self.stats.error_replicas.append(base)
                continue
            end = time.monotonic()
            if status == 200:
                self.stats.latencies.append(end - start)
            elif status == 302 and location.startswith(self.idp):
                self.stats.errors.append((start, end, "302 to the provider (session lost)"))
                self.stats.error_replicas.append(base)
                await self.login()
            else:
                self.stats.errors.append((start, end, f"HTTP {status}"))
                self.stats.error_replicas.append(base)


def error_kind(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connect failed"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "client timeout: no connection within 20 s"
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return "client timeout: no answer within 30 s"
    if isinstance(exc, TimeoutError):
        return "client timeout (60 s in all)"
    if isinstance(exc, aiohttp.ClientOSError):
        return f"socket error ({exc.strerror or exc.errno})"
    if isinstance(exc, LoginFailed):
        return str(exc)
    return type(exc).__name__


async def run_logins(users: list[User], concurrency: int) -> None:
    """Log everyone in, at most `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(user: User) -> None:
        async with gate:
            await user.login()

    await asyncio.gather(*(one(u) for u in users))


async def run_browsing(users: list[User], *, until: float, think: float) -> None:
    await asyncio.gather(*(u.browse(until, think) for u in users))
