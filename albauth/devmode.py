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
import dataclasses
import errno
import socket
import sys
from typing import TextIO
from urllib.parse import urlencode

from aiohttp import web

from albauth.app import Runtime
from albauth.clock import Clock, system_clock
from albauth.config.checker import Checker
from albauth.config.load import parse_document
from albauth.config.model import Settings
from albauth.devidp import DevIdP, load_idp_settings
from albauth.devidp.discovery import provider_metadata
from albauth.devidp.keys import KeyRing as ProviderKeys
from albauth.devmode_document import SCOPE, SIGNED_OUT_PATH, SOURCE, dev_client, dev_document, user_pool_arn
from albauth.devmode_options import HOST, DevOptions, add_arguments


class PortUnavailable(OSError):
    """A port `albauth dev` needs is taken; the message names the flag that moves it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)  # one argument: str() is the message alone, no "[Errno 98]"
        self.errno = errno.EADDRINUSE


def exposure_warning(opts: DevOptions) -> str | None:
    if not opts.exposed:
        return None
    return (f"albauth dev: WARNING: listening on {opts.listen}, beyond loopback. Anyone who can reach "
            "these ports can sign in as the demo users, over plain HTTP. Dev mode is for development "
            "only (e.g. inside a container whose ports only you publish); never expose it.")


def _bind_beyond_loopback(settings: Settings, address: str) -> Settings:
    """--listen: the listener was checked as a loopback one (local_development, which the
    loader refuses anywhere else: a file must not do this by accident); dev mode alone
    moves it, after an explicit flag and a printed warning."""
    listeners = tuple(dataclasses.replace(lst, address=address) for lst in settings.listeners)
    return dataclasses.replace(settings, listeners=listeners)


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
                s.bind((opts.listen, port))
            except OSError:
                raise _port_taken(port, what, flag) from None


def _port_taken(port: int, what: str, flag: str) -> PortUnavailable:
    return PortUnavailable(f"port {port} ({what}) is already in use: choose another with {flag} <port>")


class DevStack:
    """Provider, demo app and albauth, startable and stoppable (tests run one per test)."""

    def __init__(self, opts: DevOptions, *, clock: Clock = system_clock) -> None:
        self.opts = opts
        self.clock = clock
        idp_keys = opts.key_file("idp-keys.json")
        self.idp = DevIdP(load_idp_settings(opts.users, opts.issuer, cognito=opts.cognito), clock=clock,
                          keys=ProviderKeys.load_or_create(idp_keys) if idp_keys else None)
        self.client = dev_client(self.idp.settings, opts)
        checker = Checker(SOURCE)
        settings = parse_document(checker, dev_document(opts, self.idp.settings, self.client))
        checker.raise_if_any()
        self.settings = _bind_beyond_loopback(settings, opts.listen) if opts.exposed else settings
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
        if self.idp.settings.cognito is not None:  # Cognito's /logout and its parameter name
            query = urlencode({"client_id": self.client.client_id, "logout_uri": post_logout_redirect_uri})
            return f"{self.idp.settings.hosted_domain}/logout?{query}"
        query = urlencode({"client_id": self.client.client_id,
                           "post_logout_redirect_uri": post_logout_redirect_uri})
        return f"{provider_metadata(self.idp.settings)['end_session_endpoint']}?{query}"

    async def start(self) -> None:
        check_ports(self.opts)
        try:
            await self._serve(self.idp.app, self.opts.listen, self.opts.idp_port, "the OpenID provider",
                              "--idp-port")
            if self.opts.upstream is None:  # albauth reaches it on loopback; the browser never does
                await self._serve(self._demo_app(), HOST, self.opts.app_port, "the demo app", "--app-port")
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

        (rule,) = [r for r in self.settings.listeners[0].rules if r.authenticate is not None]
        assert rule.authenticate is not None
        return create_demo_app(self.key_endpoint, self.signer_arn, self.end_session_url,
                               session_cookie_name=rule.authenticate.session_cookie_name,
                               signed_out_path=SIGNED_OUT_PATH, front_url=self.url, clock=self.clock)

    async def _serve(self, app: web.Application, host: str, port: int, what: str, flag: str) -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        try:
            await web.TCPSite(runner, host, port).start()
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
            "  albauth dev: AWS ALB sign-in on your machine (for development only)",
            "",
            f"  Open        {self.url}",
            "",
            "  Sign in as  " + "\n              ".join(
                f"{u.username:<{width}}  password {u.password:<{pw_width}}  {u.email or ''}".rstrip()
                for u in users),
            "",
            *self._provider_lines(),
            f"  App         {app}",
            f"  Signer      {self.signer_arn}",
            "              (apps pin it: the `signer` of x-amzn-oidc-data; set ALBAUTH_SIGNER_ARN to yours)",
            f"  Public key  {self.key_endpoint}/{kid}  (PEM, as public-keys.auth.elb.<region>.amazonaws.com)",
            (f"  Sessions    in memory, SessionTimeout {self.opts.session_timeout} s; "
             f"{self.url.rstrip('/')}{SIGNED_OUT_PATH} needs no sign-in"),
            ("  Keys        kept in " + self.opts.state_dir + " (same kids after a restart)"
             if self.opts.state_dir else "  Keys        new ones each run (no --state-dir)"),
            "",
            "  Press Ctrl+C to stop.",
            "",
        ]
        return "\n".join(lines)

    def _provider_lines(self) -> list[str]:
        idp = self.idp.settings
        if idp.cognito is None:
            return [f"  Provider    {self.issuer}  (client {self.client.client_id}, scope \"{SCOPE}\")"]
        return [f"  Cognito     stand-in for {idp.cognito.pool_id} ({idp.cognito.region}), "
                f"issuer {self.issuer}",
                f"              rule: authenticate-cognito, UserPoolArn {user_pool_arn(idp)},",
                f"              UserPoolClientId {self.client.client_id}; its domain is {idp.hosted_domain}"]


async def run_dev(args: argparse.Namespace, stop: asyncio.Event, *, out: TextIO | None = None) -> None:
    opts = DevOptions.from_args(args)
    stack = DevStack(opts)
    if warning := exposure_warning(opts):
        print(warning, file=sys.stderr, flush=True)
    await stack.start()
    try:
        print(stack.banner(), file=out or sys.stdout, flush=True)
        await stop.wait()
    finally:
        await stack.stop()


__all__ = ["SIGNED_OUT_PATH", "DevOptions", "DevStack", "PortUnavailable", "add_arguments", "check_ports",
           "dev_document", "exposure_warning", "run_dev"]
