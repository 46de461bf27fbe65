"""Forward-auth for ingress controllers (DESIGN: "forward-auth is the same decision without
the proxying"); no ALB equivalent, the paths are those ingress users know from oauth2-proxy.

`GET /oauth2/auth` answers a controller's subrequest (nginx `auth_request`, ingress-nginx
`auth-url`, Caddy `forward_auth`, Traefik `forwardAuth`): the listener's rules and the
authenticate action run on the original request as the controller reports it, and the
answer is 200 with the x-amzn-oidc-* headers for the controller to copy upstream, or 401.
Envoy's ext_authz HTTP service reports differently: with `path_prefix: /oauth2/auth` it
asks `<method> /oauth2/auth/<original path>` with the original Host. `GET
/oauth2/start?rd=<url>` begins a login that returns to `rd`; the listener's
`/oauth2/idpresponse` completes it.

Only the controller may describe "the original request": the headers that do so are
believed from `trusted_proxies` alone, and everyone else gets 403.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from aiohttp import web

from albauth.config.model import ForwardAction, ForwardAuthSettings, Rule
from albauth.contracts import NOT_AUTHENTICATED, Authenticator, AuthPassed, BearerValidator, ClientOrigin
from albauth.error_pages import SERVER, alb_error_response
from albauth.ops.log_values import printable
from albauth.paths import NormalTarget, PathPolicy, UnsafePath, normalize_target
from albauth.return_url import allowed_return_url
from albauth.rules import RequestFacts, RuleTable, host_for_rules, parse_query

__all__ = ["AUTH_PATH", "START_PATH", "ForwardAuth", "ReportedRequest", "is_forward_auth_path"]

log = logging.getLogger("albauth.forward_auth")

AUTH_PATH = "/oauth2/auth"
START_PATH = "/oauth2/start"
_ENVOY_PREFIX = AUTH_PATH + "/"  # ext_authz's path_prefix, then the original path
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?")
_METHOD = re.compile(r"[A-Z]{1,20}")  # ALB's http-request-method values: A-Z, and its limit


def is_forward_auth_path(path: str) -> bool:
    return path in (AUTH_PATH, START_PATH) or path.startswith(_ENVOY_PREFIX)


@dataclass(frozen=True)
class ReportedRequest:
    """The browser's request as the controller describes it."""

    scheme: str
    host: str  # as the browser sent it, port included
    method: str
    target: NormalTarget  # normalized exactly as the listener normalizes its own requests
    query: str  # raw, as sent

    @property
    def origin(self) -> ClientOrigin:
        port = str(urlsplit(f"//{self.host}").port or (443 if self.scheme == "https" else 80))
        return ClientOrigin(self.scheme, port, secure_cookies=self.scheme == "https")


class NotReported(ValueError):
    """The controller's description is missing, repeated, conflicting or not normalizable."""


class ForwardAuth:
    def __init__(self, settings: ForwardAuthSettings, *, table: RuleTable, authenticator: Authenticator | None,
                 path_policy: PathPolicy, bearer_validator: BearerValidator | None = None) -> None:
        self.settings = settings
        self.table = table
        self.authenticator = authenticator
        self.path_policy = path_policy
        self.bearer_validator = bearer_validator

    async def __call__(self, request: web.BaseRequest, target: NormalTarget) -> web.StreamResponse:
        path = target.decoded
        if not self.trusted(request.remote):
            log.warning("forward-auth %s from %s refused (403): not in albauth.forward_auth.trusted_proxies",
                        path, printable(request.remote or "?", 64))
            return alb_error_response(403)
        try:
            if path == START_PATH:
                return await self.start(request)
            envoy = None if path == AUTH_PATH else target.path[len(AUTH_PATH):]
            return await self.auth(request, self.reported(request, envoy))
        except NotReported as exc:
            log.info("forward-auth %s answered 400: %s", path, exc)
            return alb_error_response(400)

    def trusted(self, remote: str | None) -> bool:
        try:
            address = ipaddress.ip_address(remote or "")
        except ValueError:
            return False  # a Unix socket, or nothing: no address to trust
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.settings.trusted_proxies)

    # -- GET /oauth2/auth ---------------------------------------------------------------

    async def auth(self, request: web.BaseRequest, reported: ReportedRequest) -> web.StreamResponse:
        rule = self.match(request, reported)
        passed: AuthPassed = NOT_AUTHENTICATED
        if rule.jwt_validation is not None:
            # ALB's jwt-validation action on the browser's (or API client's) Authorization
            # header, which the controller passes on: its refusal (401/403 with a
            # WWW-Authenticate challenge) goes back as it is.
            assert self.bearer_validator is not None  # the composition root builds one when a rule has it
            refused = await self.bearer_validator.check(request, rule.jwt_validation)
            if refused is not None:
                return refused
        if rule.authenticate is not None and self.authenticator is not None:
            outcome = await self.authenticator.check(request, rule.authenticate, reported.origin)
            if isinstance(outcome, web.StreamResponse):
                # The action would redirect to the provider (or deny): a controller follows
                # no 3xx from an auth subrequest (nginx answers 500), so 401, and the
                # controller sends the browser to /oauth2/start. A store failure stays 5xx.
                return _sign_in_page(reported) if outcome.status < 500 else outcome
            passed = outcome
        if not isinstance(rule.action, ForwardAction):
            # ALB answers fixed-response and redirect rules itself and forwards nothing: the
            # controller's upstream must not see such a request either (a fixed-response 403
            # is how paths are blocked). Route those paths to albauth to get its answer.
            return _plain(403)
        resp = _plain(200)
        for name, value in passed.headers:
            resp.headers[name] = value
        for cookie in passed.set_cookies:  # a refresh re-issued the session's cookies
            resp.headers.add("Set-Cookie", cookie)
        return resp

    def reported(self, request: web.BaseRequest, envoy_path: str | None) -> ReportedRequest:
        """The original request from ingress-nginx's X-Original-URL/-Method, from the
        X-Forwarded-Uri/-Method/-Host/-Proto of Traefik and Caddy, or from Envoy's request
        line (`envoy_path`: what follows the path prefix). The controller passes the
        browser's own headers along, so a browser can add a set its controller does not
        send: more than one way present is refused, as are repeated lines."""
        original_url = _single(request, "X-Original-URL")
        forwarded_uri = _single(request, "X-Forwarded-Uri")
        if sum(way is not None for way in (original_url, forwarded_uri, envoy_path)) > 1:
            raise NotReported("more than one way of reporting the original request: one came from the client")
        if envoy_path is not None:
            scheme, host = _browser_origin(request)
            method: str | None = request.method
            query = request.raw_path.partition("?")[2]
            raw_target = envoy_path + ("?" + query if query else "")
        elif original_url is not None:
            parts = urlsplit(original_url)
            if parts.scheme.lower() not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
                raise NotReported("X-Original-URL is not an absolute http(s) URL")
            scheme, host = parts.scheme.lower(), _checked_host(parts.netloc)
            method = _single(request, "X-Original-Method")
            # What follows `scheme://netloc` (urlsplit found exactly that prefix).
            raw_target = original_url[len(parts.scheme) + 3 + len(parts.netloc):] or "/"
            raw_target = raw_target if raw_target.startswith("/") else "/" + raw_target
        elif forwarded_uri is not None:
            scheme, host = _browser_origin(request)
            method = _single(request, "X-Forwarded-Method")
            raw_target = forwarded_uri
        else:
            raise NotReported("neither X-Original-URL nor X-Forwarded-Uri")
        if method is None or not _METHOD.fullmatch(method):
            raise NotReported("no X-Original-Method / X-Forwarded-Method")
        return ReportedRequest(scheme, host, method.upper(), self.normalized(raw_target),
                               raw_target.partition("?")[2])

    def normalized(self, raw_target: str) -> NormalTarget:
        if not raw_target.startswith("/"):
            raise NotReported("the reported path is not absolute")
        try:
            return normalize_target(raw_target, self.path_policy)
        except UnsafePath as exc:
            raise NotReported(f"the reported path cannot be normalized: {exc}") from None

    def match(self, request: web.BaseRequest, reported: ReportedRequest) -> Rule:
        headers = request.headers
        # source-ip conditions compare the browser's address, which only the controller
        # knows; without it they match nothing (never the controller's own address).
        client = headers.get("X-Real-IP") or _nearest(headers.getall("X-Forwarded-For", [])) or ""
        facts = RequestFacts(
            host=host_for_rules(reported.host), path=reported.target.decoded, method=reported.method,
            headers=lambda name: headers.getall(name, ()),
            query=parse_query(reported.query) if self.table.needs_query else (), peer=client)
        rule = self.table.match(facts)
        if rule is None:
            raise NotReported("no rule matches")  # cannot happen with a default rule
        return rule

    # -- GET /oauth2/start?rd= ----------------------------------------------------------

    async def start(self, request: web.BaseRequest) -> web.StreamResponse:
        scheme, host = _browser_origin(request)
        values = request.query.getall("rd", [])
        if not values:
            # nginx's `error_page 401 = /oauth2/start` cannot percent-encode the original
            # URI into a query: it sends it as oauth2-proxy's X-Auth-Request-Redirect.
            values = [_single(request, "X-Auth-Request-Redirect") or "/"]
        url = allowed_return_url(values[0], scheme=scheme, host=host,
                                 allowed_domains=self.settings.allowed_redirect_domains)
        if len(values) != 1 or url is None:
            log.info("forward-auth start refused rd=%s (400): not on an allowed domain",
                     printable(values[0], 200))
            return alb_error_response(400)
        parts = urlsplit(url)
        reported = ReportedRequest(parts.scheme.lower(), parts.netloc, "GET",
                                   self.normalized(parts.path or "/"), parts.query)
        rule = self.match(request, reported)
        if rule.authenticate is None or self.authenticator is None:
            return web.Response(status=302, headers={"Location": url, "Server": SERVER})
        # The callback goes to the host the browser is on, so the session cookie is set
        # for it; the controller routes /oauth2/idpresponse there to albauth.
        origin = ClientOrigin(scheme, "", secure_cookies=scheme == "https")
        return await self.authenticator.login(request, rule.authenticate, origin, host=host, return_url=url)


def _browser_origin(request: web.BaseRequest) -> tuple[str, str]:
    """The scheme and host the browser used, as the controller passes them on."""
    scheme = (_nearest(request.headers.getall("X-Forwarded-Proto", [])) or "https").lower()
    if scheme not in ("http", "https"):
        raise NotReported("X-Forwarded-Proto is neither http nor https")
    return scheme, _checked_host(_single(request, "X-Forwarded-Host") or request.headers.get("Host") or "")


def _checked_host(host: str) -> str:
    # The host goes into the redirect_uri and the return URL: a name and a port, nothing else.
    match = _HOST.fullmatch(host)
    if not match or int(match.group(1) or 1) > 65535:
        raise NotReported("no usable host")
    return host


def _sign_in_page(reported: ReportedRequest) -> web.Response:
    """401 with a page that sends a browser to /oauth2/start: Traefik and Envoy hand the
    auth response's body to the browser as it is (nginx and ingress-nginx replace it
    through error_page / auth-signin). A script still sees the plain 401."""
    target = reported.target.path + (f"?{reported.query}" if reported.query else "")
    start = f"{START_PATH}?rd={quote(f'{reported.scheme}://{reported.host}{target}', safe='')}"
    link = html.escape(start, quote=True)
    body = (f'<!DOCTYPE html><html><head><meta http-equiv="refresh" content="0;url={link}">'
            f'<title>401 Authorization Required</title></head><body><a href="{link}">Sign in</a></body></html>')
    return web.Response(status=401, text=body, content_type="text/html",
                        headers={"Server": SERVER, "Cache-Control": "no-store"})


def _plain(status: int) -> web.Response:
    return web.Response(status=status, headers={"Server": SERVER})


def _single(request: web.BaseRequest, name: str) -> str | None:
    values = request.headers.getall(name, ())
    if len(values) > 1:
        raise NotReported(f"{name} more than once")
    return values[0] if values else None


def _nearest(lines: list[str]) -> str | None:
    """The value the nearest proxy added: the last element of the last line."""
    return lines[-1].rpartition(",")[2].strip() or None if lines else None
