"""One path for rules and targets (DESIGN; issue: `/public/../admin` reached the target's
/admin without a session).

albauth sits in front of real targets that normalize paths the way deployed servers do:
nginx from Debian (routing on `$uri`), an aiohttp app (routing on the URL as yarl parses it), and a
threaded wsgiref app that routes like a servlet container (`;params` stripped from each
segment, then dot segments resolved and slashes merged). Rules: `/admin*` -> authenticate,
`/public/*` -> forward, default -> forward. Every target answers `<ROUTE> <request-target
it received>`, so a case that reaches the admin route shows it.

HOSTILE is data: one line per case, `(request-target, expected)` where expected is `400`,
`login` (302 to the provider: the admin rule ran) or the request-target the target must
receive (forwarded without a session, never to its admin route).
"""

from __future__ import annotations

import asyncio
import posixpath
import shutil
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import unquote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port
from yarl import URL

from albauth.devidp import DevIdP

from .conftest import Alb, StartAlb, Upstream, oidc_action

HOSTILE: list[tuple[str, str]] = [
    # the rule and the target agree on the plain spellings
    ("/admin", "login"),
    ("/admin/x", "login"),
    ("/admin;jsessionid=1", "login"),
    ("/public/x", "/public/x"),
    ("/other", "/other"),
    # dot segments, plain and percent-encoded (RFC 3986 5.2.4 after 2.3 decoding)
    ("/public/../admin", "login"),
    ("/public/%2e%2e/admin", "login"),
    ("/public/%2E%2E/admin", "login"),
    ("/public/.%2e/admin", "login"),
    ("/public/%2e./admin", "login"),
    ("/public/./../admin", "login"),
    ("/public/x/../../admin", "login"),
    ("/public//../admin", "login"),
    ("/public;x/../admin", "login"),
    ("/./admin", "login"),
    ("/x/../admin", "login"),
    ("/public/..", "/"),
    ("/public/x/..//admin", "/public/admin"),
    ("/public/.../admin", "/public/.../admin"),
    # repeated slashes (merged, as nginx's merge_slashes)
    ("//admin", "login"),
    ("///admin", "login"),
    ("/public//x", "/public/x"),
    # unreserved characters percent-encoded
    ("/%61dmin", "login"),
    ("/%61%64%6D%69%6E/x", "login"),
    ("/public/%7e%41", "/public/~A"),
    ("/public/%252e%252e/admin", "/public/%252e%252e/admin"),
    ("/public/a%3bb", "/public/a%3Bb"),
    # the query is never part of the path, and is passed on as sent
    ("/public/x?/../admin", "/public/x?/../admin"),
    ("/public/x?a=%2F..%2f", "/public/x?a=%2F..%2f"),
    # cannot be normalized unambiguously: 400
    ("/public/..%2fadmin", "400"),
    ("/public%2f..%2fadmin", "400"),
    ("/public/..%2Fadmin", "400"),
    ("/public/%2e%2e%2fadmin", "400"),
    ("/%2fadmin", "400"),
    ("/public/..%5cadmin", "400"),
    ("/public/..\\admin", "400"),
    ("/public/..;/admin", "400"),
    ("/public/.;x/admin", "400"),
    ("/public/%2e%2e;/admin", "400"),
    ("/;x/admin", "400"),
    ("/..", "400"),
    ("/../admin", "400"),
    ("/%2e%2e/admin", "400"),
    ("/public/../../admin", "400"),
    ("/admin%00", "400"),
    ("/public/%00/../../admin", "400"),
    ("/public/x%zz", "400"),
    ("/public/x%2", "400"),
    ("/public/%u002e%u002e/admin", "400"),
    ("/public/x#/../../admin", "400"),
]

NGINX_CONF = """
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
  default_type text/plain;
  server {{
    listen 127.0.0.1:{port};
    location /admin {{ return 200 "ADMIN $request_uri"; }}
    location /public/ {{ return 200 "PUBLIC $request_uri"; }}
    location / {{ return 200 "OTHER $request_uri"; }}
  }}
}}
"""


def route_of(path: str) -> str:
    return "ADMIN" if path.startswith("/admin") else "PUBLIC" if path.startswith("/public/") else "OTHER"


async def start_nginx(d: Path) -> tuple[str, subprocess.Popen[bytes]]:
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (scripts/bootstrap --test installs nginx-light)")
    (d / "tmp").mkdir(parents=True)
    for _ in range(3):  # another process may take the port between unused_port() and bind
        port = unused_port()
        (d / "nginx.conf").write_text(NGINX_CONF.format(d=d, port=port))
        proc = subprocess.Popen(["nginx", "-p", str(d), "-e", str(d / "error.log"), "-c", str(d / "nginx.conf")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if proc.poll() is not None:
                break
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            return f"http://127.0.0.1:{port}", proc
        proc.kill()
        proc.wait()
    raise AssertionError(f"nginx did not start: {(d / 'error.log').read_text()}")


async def start_aiohttp(aiohttp_server: Any) -> str:
    async def routed(request: web.Request) -> web.Response:
        # The URL as yarl parses the absolute form (dot segments resolved, also encoded
        # ones; unreserved characters decoded), slashes merged as aiohttp's
        # normalize_path_middleware does.
        path = URL(f"http://target{request.raw_path}").path
        while "//" in path:
            path = path.replace("//", "/")
        return web.Response(text=f"{route_of(path)} {request.raw_path}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", routed)
    server = await aiohttp_server(app, host="127.0.0.1")
    return f"http://127.0.0.1:{server.port}"


def servlet_path(raw_path: str) -> str:
    """What a servlet container routes on: `;params` dropped per segment, then decoded,
    dot segments resolved, slashes merged."""
    segments = [s.partition(";")[0] for s in raw_path.partition("?")[0].split("/")]
    path = posixpath.normpath(unquote("/".join(segments)) or "/")
    return "/" + path.lstrip("/")


class _RawTargetHandler(WSGIRequestHandler):
    def get_environ(self) -> dict[str, Any]:
        env = super().get_environ()
        env["REQUEST_URI"] = self.path  # wsgiref gives PATH_INFO decoded: keep the wire form too
        return env

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    raw = environ["REQUEST_URI"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{route_of(servlet_path(raw))} {raw}".encode()]


@pytest.fixture
def wsgi_target() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, wsgi_app, server_class=_ThreadingWSGIServer,
                         handler_class=_RawTargetHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["nginx", "aiohttp", "wsgiref"])
async def target(request: pytest.FixtureRequest, tmp_path: Path, aiohttp_server: Any) -> AsyncIterator[str]:
    if request.param == "nginx":
        url, proc = await start_nginx(tmp_path / "nginx")
        yield url
        proc.terminate()
        proc.wait(5)
    elif request.param == "aiohttp":
        yield await start_aiohttp(aiohttp_server)
    else:
        yield request.getfixturevalue("wsgi_target")


async def alb_in_front(start_alb: StartAlb, idp: DevIdP, target_url: str) -> Alb:
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}
    admin = {"Priority": 1, "Conditions": [{"Field": "path-pattern", "Values": ["/admin*"]}],
             "Actions": [oidc_action(idp), forward]}
    public = {"Priority": 2, "Conditions": [{"Field": "path-pattern", "Values": ["/public/*"]}],
              "Actions": [dict(forward, Order=1)]}
    return await start_alb(rules=[admin, public], default=[dict(forward, Order=1)],
                           albauth={"target_groups": {"app": {"targets": [target_url]}}})


_NO_VERIFY = ssl.create_default_context()
_NO_VERIFY.check_hostname = False
_NO_VERIFY.verify_mode = ssl.CERT_NONE


async def send_raw(port: int, target: str, *, tls: bool, cookie: str = "",
                   method: str = "GET") -> tuple[int, str, str]:
    """One request with the request-target exactly as written: (status, Location, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=_NO_VERIFY if tls else None,
                                                   server_hostname="app.test" if tls else None)
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    writer.write(f"{method} {target} HTTP/1.1\r\nHost: app.test\r\n{extra}Connection: close\r\n\r\n".encode("latin-1"))
    try:
        data = await asyncio.wait_for(reader.read(-1), 10)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    location = next((v.strip() for k, _, v in (h.partition(":") for h in lines[1:]) if k.lower() == "location"), "")
    return int(lines[0].split()[1]), location, body.decode("latin-1")


def outcome(status: int, location: str, body: str, idp: DevIdP) -> str:
    """The observed result in the table's words."""
    if status == 302 and location.startswith(f"{idp.settings.issuer}/"):
        return "login"
    if status == 200:
        route, _, received = body.partition(" ")
        assert route != "ADMIN", f"reached the target's admin route without a session: {body}"
        return received
    return str(status)


async def test_hostile_paths_never_reach_the_admin_route_without_a_session(
        start_alb: StartAlb, idp: DevIdP, target: str) -> None:
    """Each case gets its expected outcome; none reaches the admin route unauthenticated."""
    alb = await alb_in_front(start_alb, idp, target)
    seen = {}
    for request_target, _ in HOSTILE:
        seen[request_target] = outcome(*await send_raw(alb.port, request_target, tls=True), idp)
    assert seen == dict(HOSTILE)


DIRECT_BYPASSES = ["/public/../admin", "/public/%2e%2e/admin", "/public/.%2e/admin", "//admin", "/x/../admin",
                   "/%61dmin"]


async def test_the_targets_really_normalize_hostile_paths_to_admin(target: str) -> None:
    """Without albauth in front, the same targets route these spellings to admin: the table
    above tests real bypasses, not spellings the targets would refuse anyway."""
    port = int(target.rsplit(":", 1)[1])
    for request_target in DIRECT_BYPASSES:
        status, _, body = await send_raw(port, request_target, tls=False)
        assert (status, body.partition(" ")[0]) == (200, "ADMIN"), (request_target, body)


async def test_with_a_session_the_normalized_path_is_what_the_target_receives(
        start_alb: StartAlb, idp: DevIdP, wsgi_target: str) -> None:
    """The rule matched `/admin`, so the target is sent `/admin`, not the client's spelling."""
    alb = await alb_in_front(start_alb, idp, wsgi_target)
    assert (await alb.browser.login("https://app.test/admin")).body.startswith(b"ADMIN /admin")
    cookie = "; ".join(f"{k}={v}" for k, v in alb.browser.cookies("app.test").items())
    for request_target, received in [("/public/../admin?q=1", "/admin?q=1"), ("//admin/x", "/admin/x"),
                                     ("/public/%2e%2e/%61dmin", "/admin")]:
        status, _, body = await send_raw(alb.port, request_target, tls=True, cookie=cookie)
        assert (status, body) == (200, f"ADMIN {received}")


async def test_logout_path_is_answered_for_any_spelling_of_it(start_alb: StartAlb, idp: DevIdP) -> None:
    """`//oauth2/./logout` is the logout path: it ends the session (302 to the provider's
    end_session endpoint) instead of reaching the target or failing."""
    alb = await start_alb(auth={"albauth": {"logout_path": "/oauth2/logout",
                                            "post_logout_redirect_uri": "https://app.test/bye"}})
    await alb.browser.login()
    cookie = "; ".join(f"{k}={v}" for k, v in alb.browser.cookies("app.test").items())
    status, location, _ = await send_raw(alb.port, "//oauth2/./%6Cogout", tls=True, cookie=cookie, method="POST")
    assert (status, location.partition("?")[0]) == (302, f"{idp.settings.issuer}/logout")


async def test_redirect_action_path_placeholder_is_the_normalized_path(start_alb: StartAlb) -> None:
    """A redirect rule's `#{path}` is the path the rule matched, never the client's spelling."""
    redirect = {"Type": "redirect", "Order": 1, "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "Host": "new.test", "Path": "/moved/#{path}", "Query": "#{query}",
        "StatusCode": "HTTP_301"}}
    alb = await start_alb(default=[redirect])
    status, location, _ = await send_raw(alb.port, "/old/x/../%7Ey//z?a=..%2F", tls=True)
    assert (status, location) == (301, "https://new.test:443/moved/old/~y/z?a=..%2F")


async def test_websocket_upgrade_is_sent_the_normalized_path(start_alb: StartAlb, upstream: Upstream) -> None:
    """The WebSocket relay takes the same normalized request-target as plain requests."""
    alb = await start_alb(default=[{"Type": "forward", "Order": 1, "TargetGroupArn": "app"}])
    async with aiohttp.ClientSession() as session:
        url = URL(f"wss://127.0.0.1:{alb.port}/x/%2e%2e//ws?q=/../a", encoded=True)
        async with session.ws_connect(url, ssl=False, headers={"Host": "app.test"}) as ws:
            await ws.send_str("hello")
            assert (await ws.receive_str(timeout=5)) == "hello"
    assert upstream.last["path"] == "/ws?q=/../a"
