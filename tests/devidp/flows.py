"""Drive the provider as ALB and a browser do: the login form over HTTP (GET /authorize,
read the form out of the HTML, POST it back, follow nothing) and the back-channel calls."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from aiohttp.test_utils import TestClient

#: The test client of a provider app (aiohttp's TestClient is generic in request and app).
HttpClient = TestClient[web.Request, web.Application]

CLIENT_ID = "albauth-dev"
CLIENT_SECRET = "albauth-dev-secret"
REDIRECT_URI = "http://localhost:8080/oauth2/idpresponse"


@dataclass
class Form:
    action: str = ""
    fields: dict[str, str] = field(default_factory=dict)  # hidden fields
    inputs: dict[str, str] = field(default_factory=dict)  # every named input: name -> type
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, label)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: Form | None = None
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form = Form(action=a.get("action", ""))
        elif tag == "input" and self.form is not None and "name" in a:
            self.form.inputs[a["name"]] = a.get("type", "text")
            if a.get("type") == "hidden":
                self.form.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self.form is not None:
            self._button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self.form is not None:
            name, value, label = self._button
            self.form.buttons.append((name, value, label.strip()))
            self._button = None


def parse_form(html: str) -> Form:
    parser = _FormParser()
    parser.feed(html)
    assert parser.form is not None, "no <form> on the page"
    return parser.form


def authorize_params(**overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile", "state": "st-123", "nonce": "n-456",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def open_login(client: HttpClient, **overrides: str | None) -> Form:
    resp = await client.get("/authorize", params=authorize_params(**overrides), allow_redirects=False)
    assert resp.status == 200, await resp.text()
    return parse_form(await resp.text())


async def submit(client: HttpClient, form: Form, **fields: str) -> Any:
    return await client.post(form.action, data={**form.fields, **fields}, allow_redirects=False)


async def sign_in(client: HttpClient, username: str = "alice", password: str | None = None,
                  **overrides: str | None) -> dict[str, str]:
    """The whole browser leg; returns the query the client's redirect_uri receives."""
    form = await open_login(client, **overrides)
    resp = await submit(client, form, username=username, password=password or username, action="login")
    assert resp.status == 302, await resp.text()
    return query_of(resp.headers["Location"])


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def redeem(client: HttpClient, code: str, *, redirect_uri: str = REDIRECT_URI,
                 **extra: str) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, **extra}
    return await client.post("/token", data=data, headers=basic())


async def tokens_for(client: HttpClient, username: str = "alice", **overrides: str | None) -> dict[str, Any]:
    """Sign in through the form and redeem the code: the token response."""
    code = (await sign_in(client, username, **overrides))["code"]
    resp = await redeem(client, code)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body
