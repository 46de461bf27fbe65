"""`albauth dev`: the built-in provider, the demo app (or your own app) and albauth, in one
process on loopback, so ALB's login flow runs with zero setup.

albauth's settings are built as a configuration document, the same shapes a YAML file
has, and go through the same loader: what runs here is what a file would run.
Everything binds 127.0.0.1 and every URL says 127.0.0.1 (never `localhost`), because
cookies are kept per host name: mixing the two would lose the session.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import socket
import sys
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlencode

from aiohttp import web

from albauth.app import Runtime
from albauth.clock import Clock, system_clock
from albauth.config.checker import Checker
from albauth.config.errors import ConfigError, ConfigIssue
from albauth.config.load import parse_document
from albauth.devidp import DevIdP, IdpClient, IdpSettings, load_idp_settings
from albauth.devidp.discovery import provider_metadata
from albauth.devidp.uri_patterns import uri_matches_any
from albauth.session.sealing import generate_secret

HOST = "127.0.0.1"
SOURCE = "<albauth dev>"
DEV_CLIENT_ID = "albauth-dev"
SCOPE = "openid email profile"
SIGNED_OUT_PATH = "/signed-out"
TARGET_GROUP = "app"

# Shown at /signed-out when --upstream replaces the demo app (ALB caps fixed responses at 1 KB).
_SIGNED_OUT_HTML = (
    "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
    "<title>Signed out</title><body style='font:16px system-ui,sans-serif;max-width:36em;margin:12vh auto;"
    "padding:0 20px;color:#0f172a'><h1>You are signed out</h1><p>This page is served by an albauth rule "
    "without an authenticate action, so it does not send you back to the sign-in form.</p>"
    "<p><a href='/' style='color:#4f46e5'>Sign in again</a></p></body></html>"
)


class PortUnavailable(OSError):
    """A port `albauth dev` needs is taken; the message names the flag that moves it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)  # one argument: str() is the message alone, no "[Errno 98]"
        self.errno = errno.EADDRINUSE


@dataclass(frozen=True)
class DevOptions:
    port: int = 8080
    idp_port: int = 9000
    app_port: int = 8081
    admin_port: int = 9901
    users: str | None = None
    upstream: str | None = None
    session_timeout: int = 604800

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DevOptions:
        return cls(port=args.port, idp_port=args.idp_port, app_port=args.app_port,
                   admin_port=args.admin_port, users=args.users, upstream=args.upstream,
                   session_timeout=args.session_timeout)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def issuer(self) -> str:
        return f"http://{HOST}:{self.idp_port}"

    @property
    def admin_url(self) -> str:
        return f"http://{HOST}:{self.admin_port}"

    def ports(self) -> list[tuple[int, str, str]]:
        """(port, what listens there, the flag that changes it), in start order."""
        ports = [(self.idp_port, "the OpenID provider", "--idp-port")]
        if self.upstream is None:
            ports.append((self.app_port, "the demo app", "--app-port"))
        ports += [(self.port, "albauth", "--port"), (self.admin_port, "albauth's admin listener", "--admin-port")]
        return ports


def dev_client(idp: IdpSettings, opts: DevOptions) -> IdpClient:
    """The provider's `albauth-dev` client (or a --users file's first client), which
    must accept albauth's callback URL."""
    client = idp.client(DEV_CLIENT_ID) or idp.clients[0]
    callback = f"http://{HOST}:{opts.port}/oauth2/idpresponse"
    if not uri_matches_any(callback, client.redirect_uris):
        raise ConfigError([ConfigIssue(opts.users or SOURCE, "clients",
                                       f"client {client.client_id!r} does not allow the redirect URI "
                                       f"{callback}; add http://127.0.0.1:*/oauth2/idpresponse to its "
                                       "redirect_uris")])
    return client


def dev_document(opts: DevOptions, idp: IdpSettings, client: IdpClient) -> dict[str, Any]:
    """albauth's configuration for dev mode, as a YAML file would spell it."""
    meta = provider_metadata(idp)
    authenticate = {
        "Type": "authenticate-oidc", "Order": 1,
        "AuthenticateOidcConfig": {
            "Issuer": meta["issuer"],
            "AuthorizationEndpoint": meta["authorization_endpoint"],
            "TokenEndpoint": meta["token_endpoint"],
            "UserInfoEndpoint": meta["userinfo_endpoint"],
            "ClientId": client.client_id,
            "ClientSecret": client.client_secret,
            "Scope": SCOPE,
            "SessionTimeout": opts.session_timeout,
            "OnUnauthenticatedRequest": "authenticate",
        },
    }
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": TARGET_GROUP}
    # The post-logout landing page must not be behind an authenticate rule (spec 3.2), or
    # the browser would be sent straight back to the sign-in form.
    if opts.upstream is None:
        signed_out_action: dict[str, Any] = {"Type": "forward", "Order": 1, "TargetGroupArn": TARGET_GROUP}
    else:
        signed_out_action = {"Type": "fixed-response", "Order": 1, "FixedResponseConfig": {
            "StatusCode": "200", "ContentType": "text/html", "MessageBody": _SIGNED_OUT_HTML}}
    return {
        "albauth": {
            "admin_listen": f"{HOST}:{opts.admin_port}",
            "target_groups": {TARGET_GROUP: {"targets": [opts.upstream or f"http://{HOST}:{opts.app_port}"]}},
            # Sessions and signing keys live as long as the process: nothing to set up or clean.
            "session": {"store": "memory", "secrets": [generate_secret()]},
            "signing": {},
        },
        "listeners": [{
            "Protocol": "HTTP",
            "Port": opts.port,
            "albauth": {"address": HOST, "local_development": True},
            "Rules": [{
                "Priority": 1,
                "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": [SIGNED_OUT_PATH]}}],
                "Actions": [signed_out_action],
            }],
            "DefaultActions": [authenticate, forward],
        }],
    }


def check_ports(opts: DevOptions) -> None:
    """Fail before starting anything, with the flag to change, rather than half-start."""
    seen: dict[int, str] = {}
    for port, _, flag in opts.ports():
        if port in seen:
            raise PortUnavailable(f"{seen[port]} and {flag} are both {port}: give them different ports")
        seen[port] = flag
    for port, what, flag in opts.ports():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
            try:
                s.bind((HOST, port))
            except OSError:
                raise _port_taken(port, what, flag) from None


def _port_taken(port: int, what: str, flag: str) -> PortUnavailable:
    return PortUnavailable(f"port {port} ({what}) is already in use: choose another with {flag} <port>")


class DevStack:
    """Provider, demo app and albauth, startable and stoppable (tests run one per test)."""

    def __init__(self, opts: DevOptions, *, clock: Clock = system_clock) -> None:
        self.opts = opts
        self.clock = clock
        self.idp = DevIdP(load_idp_settings(opts.users, opts.issuer), clock=clock)
        self.client = dev_client(self.idp.settings, opts)
        checker = Checker(SOURCE)
        self.settings = parse_document(checker, dev_document(opts, self.idp.settings, self.client))
        checker.raise_if_any()
        self.runtime: Runtime | None = None
        self._runners: list[web.BaseRunner] = []

    @property
    def url(self) -> str:
        return self.opts.url

    @property
    def issuer(self) -> str:
        return self.idp.settings.issuer

    @property
    def key_endpoint(self) -> str:
        return self.opts.admin_url

    @property
    def signer_arn(self) -> str:
        """The load balancer ARN in `x-amzn-oidc-data`'s `signer`, which apps check."""
        from albauth.auth.setup import signer_arn

        return signer_arn(self.settings.signing)

    def end_session_url(self, post_logout_redirect_uri: str) -> str:
        query = urlencode({"client_id": self.client.client_id,
                           "post_logout_redirect_uri": post_logout_redirect_uri})
        return f"{provider_metadata(self.idp.settings)['end_session_endpoint']}?{query}"

    async def start(self) -> None:
        check_ports(self.opts)
        try:
            await self._serve(self.idp.app, self.opts.idp_port, "the OpenID provider", "--idp-port")
            if self.opts.upstream is None:
                await self._serve(self._demo_app(), self.opts.app_port, "the demo app", "--app-port")
            # Runtime builds its HTTP clients, so it is made inside the running loop.
            self.runtime = Runtime(self.settings, clock=self.clock)
            try:
                await self.runtime.start()
            except OSError as exc:
                raise self._which_port(exc) from None
        except BaseException:
            await self.stop()
            raise

    def _demo_app(self) -> web.Application:
        from albauth.demo import create_demo_app

        return create_demo_app(self.key_endpoint, self.signer_arn, self.end_session_url,
                               signed_out_path=SIGNED_OUT_PATH, front_url=self.url, clock=self.clock)

    async def _serve(self, app: web.Application, port: int, what: str, flag: str) -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        try:
            await web.TCPSite(runner, HOST, port).start()
        except OSError as exc:
            raise (_port_taken(port, what, flag) if exc.errno == errno.EADDRINUSE else exc) from None

    def _which_port(self, exc: OSError) -> OSError:
        if exc.errno != errno.EADDRINUSE:
            return exc
        for port, what, flag in self.opts.ports():
            if f", {port})" in str(exc):  # asyncio names the address: "('127.0.0.1', 8080)"
                return _port_taken(port, what, flag)
        return exc

    async def stop(self) -> None:
        # albauth first, so no request is in flight to the app or provider it calls.
        if self.runtime is not None:
            await self.runtime.stop()
            self.runtime = None
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    def banner(self) -> str:
        users = self.idp.settings.users
        width = max(len(u.username) for u in users)
        pw_width = max(len(u.password) for u in users)
        kid = self.runtime.keyring.current.kid if self.runtime and self.runtime.keyring else "<kid>"
        app = (f"your app at {self.opts.upstream}" if self.opts.upstream
               else f"demo app on http://{HOST}:{self.opts.app_port} (open it through albauth)")
        lines = [
            "",
            "  albauth dev: AWS ALB sign-in on your machine",
            "",
            f"  Open        {self.url}",
            "",
            "  Sign in as  " + "\n              ".join(
                f"{u.username:<{width}}  password {u.password:<{pw_width}}  {u.email or ''}".rstrip()
                for u in users),
            "",
            f"  Provider    {self.issuer}  (client {self.client.client_id}, scope \"{SCOPE}\")",
            f"  App         {app}",
            f"  Public key  {self.key_endpoint}/{kid}  (PEM, as public-keys.auth.elb.<region>.amazonaws.com)",
            (f"  Sessions    in memory, SessionTimeout {self.opts.session_timeout} s; "
             f"{self.url.rstrip('/')}{SIGNED_OUT_PATH} needs no sign-in"),
            "",
            "  Press Ctrl+C to stop.",
            "",
        ]
        return "\n".join(lines)


async def run_dev(args: argparse.Namespace, stop: asyncio.Event, *, out: TextIO | None = None) -> None:
    stack = DevStack(DevOptions.from_args(args))
    await stack.start()
    try:
        print(stack.banner(), file=out or sys.stdout, flush=True)
        await stop.wait()
    finally:
        await stack.stop()


__all__ = ["DevOptions", "DevStack", "PortUnavailable", "check_ports", "dev_document", "run_dev"]
