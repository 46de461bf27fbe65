"""Opt-in answers for APIs and single-page apps, where ALB's 302 to the provider does harm
(each off by default, so the default stays ALB's):

- a request that cannot follow a cross-origin redirect (a `fetch`/XHR) gets a 401 with a
  JSON body naming the login URL, for the app to navigate the page to;
- a CORS preflight carries no cookies by design, so it is forwarded without a session;
- a browser bounced to the provider again and again (cookies blocked, a clock far off, a
  misconfigured SameSite) gets a page that says so instead of an endless loop.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from aiohttp import web

from albauth.error_pages import SERVER

__all__ = ["LOOP_COOKIE", "cannot_follow_redirect", "is_cors_preflight", "login_loop", "login_required",
           "loop_cookie", "same_origin_return_path"]

LOOP_COOKIE = "AWSALBAuthLoginAttempts"


def is_cors_preflight(request: web.BaseRequest) -> bool:
    """Fetch Standard: OPTIONS with `Origin` and `Access-Control-Request-Method`."""
    headers = request.headers
    return (request.method == "OPTIONS" and "Origin" in headers
            and "Access-Control-Request-Method" in headers)


def cannot_follow_redirect(request: web.BaseRequest) -> bool:
    """A script's request: a redirect to the provider would be followed invisibly (and fail
    on CORS), never shown to the user."""
    headers = request.headers
    if headers.get("Sec-Fetch-Mode", "").lower() == "cors":
        return True
    if headers.get("X-Requested-With", "").lower() == "xmlhttprequest":
        return True
    accept = headers.get("Accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


def same_origin_return_path(request: web.BaseRequest, scheme: str) -> str | None:
    """Where a script's page lives (its Referer, when on this origin): after the login the
    browser should land there, not on the API URL the script called."""
    referer = request.headers.get("Referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    if (parts.scheme, parts.netloc.lower()) != (scheme, request.headers.get("Host", "").lower()):
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def login_required(location: str) -> web.Response:
    """The 401 a script gets instead of the 302 (its body and header name the URL the page
    should navigate to; the nonce cookie is set on it as on the 302)."""
    body = json.dumps({"error": "login_required", "login_url": location})
    return web.Response(status=401, text=body, content_type="application/json",
                        headers={"Server": SERVER, "Cache-Control": "no-store", "X-Login-Url": location})


def login_loop(attempts: int, window: float) -> web.Response:
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign-in is looping</title></head>
<body style="font-family:sans-serif;margin:3em;max-width:40em">
<h1>Sign-in is going round in circles</h1>
<p>This browser was sent to sign in {attempts} times in {window:g} seconds without its session
sticking. The usual causes: cookies blocked for this site, a private window that drops them,
or this computer's clock far from the real time.</p>
<p>Fix that, then <a href="">try again</a>.</p>
</body></html>
"""
    return web.Response(status=401, text=page, content_type="text/html",
                        headers={"Server": SERVER, "Cache-Control": "no-store"})


def loop_cookie(request: web.BaseRequest, now: float, window: float) -> tuple[int, str]:
    """The attempts so far in this window (before this one), and the Set-Cookie value
    counting this one. The count lives in the browser: tampering only hurts its owner."""
    count, first = 0, now
    raw = request.cookies.get(LOOP_COOKIE, "")
    try:
        seen, _, started = raw.partition(".")
        if raw and 0 <= now - float(started) <= window:
            count, first = int(seen), float(started)
    except ValueError:
        pass
    max_age = max(1, int(first + window - now))
    return count, f"{LOOP_COOKIE}={count + 1}.{first:.0f}; Max-Age={max_age}; Path=/; HttpOnly"
