"""The authorization endpoint and its login form, driven as a browser would."""

from __future__ import annotations

import pytest

from albauth.devidp import DevIdP

from .conftest import StartIdp
from .flows import (
    CLIENT_ID,
    REDIRECT_URI,
    HttpClient,
    authorize_params,
    open_login,
    query_of,
    sign_in,
    submit,
)


async def test_login_page_has_the_form_and_lists_the_demo_users(client: HttpClient) -> None:
    resp = await client.get("/authorize", params=authorize_params(), allow_redirects=False)
    assert resp.status == 200
    assert resp.content_type == "text/html"
    html = await resp.text()
    assert '<input type="text" id="username" name="username"' in html
    assert 'id="password" name="password"' in html
    assert "<link" not in html and "<script src" not in html  # self-contained
    for name in ("alice", "bob", "carol"):
        assert f"<code>{name}</code>" in html
    form = await open_login(client)
    assert form.action == "/authorize"
    assert ("action", "cancel", "Cancel") in form.buttons
    assert any(label == "Sign in" for _, _, label in form.buttons)
    # The original request rides along in hidden fields.
    assert form.fields == authorize_params()


async def test_sign_in_redirects_with_code_and_state(idp: DevIdP, client: HttpClient) -> None:
    query = await sign_in(client, "bob")
    assert query["state"] == "st-123" and len(query["code"]) >= 32
    assert [e.endpoint for e in idp.events] == ["authorize", "authorize"]
    assert [e.status for e in idp.events] == [200, 302]
    assert "password" not in idp.events[-1].params


async def test_redirect_uri_keeps_its_wildcard_port(client: HttpClient) -> None:
    uri = "http://127.0.0.1:43123/oauth2/idpresponse"
    form = await open_login(client, redirect_uri=uri)
    resp = await submit(client, form, username="carol", password="carol", action="login")
    assert resp.headers["Location"].startswith(uri + "?code=")


async def test_wrong_password_shows_the_form_again_with_an_error(client: HttpClient) -> None:
    form = await open_login(client)
    resp = await submit(client, form, username="alice", password="bob", action="login")
    assert resp.status == 200
    html = await resp.text()
    assert "Incorrect username or password" in html
    assert 'value="alice"' in html  # the username is kept
    unknown = await submit(client, form, username="mallory", password="x", action="login")
    assert "Incorrect username or password" in await unknown.text()


async def test_cancel_redirects_with_access_denied_and_state(client: HttpClient) -> None:
    form = await open_login(client)
    resp = await submit(client, form, action="cancel")
    assert resp.status == 302
    query = query_of(resp.headers["Location"])
    assert resp.headers["Location"].startswith(REDIRECT_URI + "?")
    assert query["error"] == "access_denied" and query["state"] == "st-123"
    assert "code" not in query


async def test_unknown_client_shows_an_error_page_and_never_redirects(client: HttpClient) -> None:
    resp = await client.get("/authorize", params=authorize_params(client_id="nobody"), allow_redirects=False)
    assert resp.status == 400 and "Location" not in resp.headers
    assert "Invalid client" in await resp.text()


async def test_unregistered_redirect_uri_shows_an_error_page_and_never_redirects(client: HttpClient) -> None:
    evil = "https://evil.example/steal"
    resp = await client.get("/authorize", params=authorize_params(redirect_uri=evil), allow_redirects=False)
    assert resp.status == 400 and "Location" not in resp.headers
    assert "not supported by client" in await resp.text()
    # Not even by editing the hidden fields of a good form.
    form = await open_login(client)
    form.fields["redirect_uri"] = evil
    posted = await submit(client, form, username="alice", password="alice", action="login")
    assert posted.status == 400 and "Location" not in posted.headers


async def test_wildcard_cannot_be_stretched_into_another_host(client: HttpClient) -> None:
    for uri in ("http://localhost:1@evil.example/oauth2/idpresponse",
                "https://evil.example/x?/oauth2/idpresponse",
                "http://localhost:8080/oauth2/idpresponse/../../steal"):
        resp = await client.get("/authorize", params=authorize_params(redirect_uri=uri), allow_redirects=False)
        assert resp.status == 400 and "Location" not in resp.headers, uri


async def test_missing_redirect_uri_is_an_error_page(client: HttpClient) -> None:
    resp = await client.get("/authorize", params=authorize_params(redirect_uri=None), allow_redirects=False)
    assert resp.status == 400 and "Location" not in resp.headers


async def test_unsupported_response_type_is_redirected_once_the_uri_is_trusted(client: HttpClient) -> None:
    resp = await client.get("/authorize", params=authorize_params(response_type="token"), allow_redirects=False)
    assert resp.status == 302
    query = query_of(resp.headers["Location"])
    assert query["error"] == "unsupported_response_type" and query["state"] == "st-123"


async def test_unknown_scope_is_invalid_scope(client: HttpClient) -> None:
    resp = await client.get("/authorize", params=authorize_params(scope="openid admin:everything"),
                            allow_redirects=False)
    assert resp.status == 302
    assert query_of(resp.headers["Location"])["error"] == "invalid_scope"


async def test_prompt_none_without_a_session_is_login_required(client: HttpClient) -> None:
    resp = await client.get("/authorize", params=authorize_params(prompt="none"), allow_redirects=False)
    assert resp.status == 302
    assert query_of(resp.headers["Location"])["error"] == "login_required"


async def test_by_default_every_authorize_shows_the_form(client: HttpClient) -> None:
    await sign_in(client)
    resp = await client.get("/authorize", params=authorize_params(), allow_redirects=False)
    assert resp.status == 200 and 'name="password"' in await resp.text()


async def test_remembered_login_is_silent_unless_prompt_login(start_idp: StartIdp) -> None:
    idp, client = await start_idp(remember_login=True)
    await sign_in(client)
    silent = await client.get("/authorize", params=authorize_params(state="again"), allow_redirects=False)
    assert silent.status == 302
    assert query_of(silent.headers["Location"]).keys() == {"code", "state"}
    forced = await client.get("/authorize", params=authorize_params(prompt="login"), allow_redirects=False)
    assert forced.status == 200 and 'name="password"' in await forced.text()
    await client.get("/logout", allow_redirects=False)
    after_logout = await client.get("/authorize", params=authorize_params(), allow_redirects=False)
    assert after_logout.status == 200
    assert idp.count("logout") == 1


async def test_issue_code_refuses_what_the_form_would_refuse(idp: DevIdP) -> None:
    with pytest.raises(ValueError):
        idp.issue_code("alice", CLIENT_ID, "https://evil.example/cb")
    with pytest.raises(ValueError):
        idp.issue_code("mallory", CLIENT_ID, REDIRECT_URI)
