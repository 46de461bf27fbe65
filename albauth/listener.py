"""One listener: the request path of spec 2.1 — limits, the login callback, rule matching,
the authenticate action, then the rule's terminal action."""

from __future__ import annotations

import logging

from aiohttp import web
from yarl import URL

from albauth.config.model import (
    FixedResponseAction,
    ForwardAction,
    ForwardAuthSettings,
    Listener,
    ProxySettings,
    RedirectAction,
    Rule,
)
from albauth.contracts import NOT_AUTHENTICATED, Authenticator, AuthPassed, BearerValidator, ClientOrigin
from albauth.error_pages import SERVER, alb_error_response
from albauth.forward_auth import ForwardAuth, is_forward_auth_path
from albauth.forwarded import forwarded_request_headers
from albauth.ops.request_record import REDIRECT_URL, header_fields_bytes, record_of
from albauth.paths import NormalTarget, PathPolicy, UnsafePath, normalize_target
from albauth.proxy import Forwarder
from albauth.response_policy import ResponsePolicy
from albauth.rules import RequestFacts, RuleTable, host_for_rules, parse_query
from albauth.targets import TargetPicker
from albauth.transforms import RewriteFailed, RuleRewrites

log = logging.getLogger("albauth.listener")

CALLBACK_PATH = "/oauth2/idpresponse"
MAX_HEADERS_BYTES = 64 * 1024  # ALB: all request headers together
MAX_XFF_ADDRESSES = 30  # ALB answers 463 past this
# ALB's access-log actions_executed names.
_ACTION_NAMES = {ForwardAction: "forward", FixedResponseAction: "fixed-response", RedirectAction: "redirect"}


class ListenerHandler:
    def __init__(self, listener: Listener, *, forwarder: Forwarder, picker: TargetPicker,
                 authenticator: Authenticator | None, proxy_settings: ProxySettings,
                 bearer_validator: BearerValidator | None = None,
                 forward_auth: ForwardAuthSettings | None = None) -> None:
        self.listener = listener
        self.bearer_validator = bearer_validator
        self.table = RuleTable(listener.rules)
        self.forwarder = forwarder
        self.picker = picker
        self.authenticator = authenticator
        self.settings = proxy_settings
        self._path_policy = PathPolicy.from_settings(proxy_settings)
        self._responses = ResponsePolicy.from_attributes(listener.attributes)
        self._rewrites = {r.key: rw for r in listener.rules if (rw := RuleRewrites.of(r)) is not None}
        self._scheme = "https" if listener.protocol == "HTTPS" else "http"
        self._port = str(listener.port)
        self._intercept_callback = listener.has_authenticate and authenticator is not None
        # albauth's opt-in logout routes (ALB has none): answered before rule matching too.
        self._logout_paths = frozenset(
            path for r in listener.rules if r.authenticate is not None and authenticator is not None
            for path in (r.authenticate.logout_path, r.authenticate.backchannel_logout_path) if path)
        # Off: /oauth2/auth and /oauth2/start are ordinary paths, matched by the rules.
        self._forward_auth = None if forward_auth is None or not forward_auth.enabled else ForwardAuth(
            forward_auth, table=self.table, authenticator=authenticator, path_policy=self._path_policy,
            bearer_validator=bearer_validator)
        # Constant unless the scheme comes from X-Forwarded-Proto: built once, not per request.
        self._origin = None if listener.trust_forwarded_proto else ClientOrigin(
            self._scheme, self._port, secure_cookies=self._scheme == "https")
        # A first rule without conditions (env-only mode: the default rule alone) matches
        # every request: no RequestFacts needed.
        first = self.table.rules[0] if self.table.rules else None
        self._always = first.rule if first is not None and not first.tests else None

    def origin(self, request: web.BaseRequest) -> ClientOrigin:
        if self._origin is not None:
            return self._origin
        if self.listener.trust_forwarded_proto:
            # Behind a TLS-terminating proxy: it tells us what the browser used.
            proto = (_nearest_proxy_value(request, "X-Forwarded-Proto") or "").lower()
            if proto not in ("http", "https"):
                proto = "https"
            port = _nearest_proxy_value(request, "X-Forwarded-Port") or ""
            if not _is_port(port):
                port = "443" if proto == "https" else "80"
            return ClientOrigin(proto, port, secure_cookies=proto != "http")
        raise AssertionError("unreachable: _origin is set unless forwarded proto is trusted")

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        resp = await self.respond(request)
        # ALB's listener response-header attributes apply to every response, its own included.
        return self._responses.finish(resp) if self._responses.changes_responses else resp

    async def respond(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "TRACE":
            return alb_error_response(405)
        headers = request.headers
        # Repeated X-Forwarded-For lines form one list (RFC 9110 5.3): keep and count them all.
        xff = ", ".join(headers.getall("X-Forwarded-For", ())) or None
        if xff is not None and xff.count(",") + 1 > MAX_XFF_ADDRESSES:
            return alb_error_response(463)
        if header_fields_bytes(request) > MAX_HEADERS_BYTES:
            return alb_error_response(400)
        if not headers.get("Host", "").isascii():
            # A host name is ASCII (RFC 3986 3.2.2; IDNs travel as punycode); bytes that are
            # not UTF-8 arrive as surrogates and broke the login redirect with a 500.
            return alb_error_response(400)
        target = self.normal_target(request)
        if target is None:
            return alb_error_response(400)
        # Everything path-dependent below sees the normalized path (albauth.paths).
        if self._intercept_callback and target.decoded == CALLBACK_PATH:
            assert self.authenticator is not None
            _note_authenticate(request)
            return await self.authenticator.callback(request, self.origin(request))
        if self._logout_paths and target.decoded in self._logout_paths:
            assert self.authenticator is not None
            _note_authenticate(request)
            if target.path_qs is not None:  # the action looks the path up again
                request = request.clone(rel_url=URL(target.path_qs, encoded=True))
            return await self.authenticator.logout(request, self.origin(request))
        if self._forward_auth is not None and is_forward_auth_path(target.decoded):
            return await self._forward_auth(request, target)

        if self._always is not None:
            return await self.run_rule(request, self._always, xff, target)
        facts = RequestFacts(
            host=host_for_rules(headers.get("Host")),
            host_header=headers.get("Host", ""),
            path=target.decoded,
            method=request.method,
            headers=lambda name: headers.getall(name, ()),
            query=parse_query(request.rel_url.raw_query_string) if self.table.needs_query else (),
            peer=request.remote or "",
        )
        rule = self.table.match(facts)
        if rule is None:  # cannot happen with a default rule; be safe anyway
            return alb_error_response(503)
        return await self.run_rule(request, rule, xff, target)

    def normal_target(self, request: web.BaseRequest) -> NormalTarget | None:
        """The request-target normalized once, or None when it cannot be (answered 400)."""
        raw = request.raw_path
        if not raw.startswith("/"):
            return None
        try:
            return normalize_target(raw, self._path_policy)
        except UnsafePath:
            return None

    async def run_rule(self, request: web.BaseRequest, rule: Rule, xff: str | None,
                       target: NormalTarget) -> web.StreamResponse:
        passed = NOT_AUTHENTICATED
        origin: ClientOrigin | None = None
        if rule.jwt_validation is not None:
            assert self.bearer_validator is not None  # the composition root builds one when a rule has it
            refused = await self.bearer_validator.check(request, rule.jwt_validation)
            if refused is not None:
                return refused
        action = rule.action
        record = record_of(request)
        authenticates = rule.authenticate is not None and self.authenticator is not None
        if record is not None:
            record.note_rule(rule.priority, authenticates, _ACTION_NAMES[type(action)])
        if rule.authenticate is not None and self.authenticator is not None:
            origin = self.origin(request)
            outcome = await self.authenticator.check(request, rule.authenticate, origin)
            if not isinstance(outcome, AuthPassed):  # a plain class: StreamResponse is an ABC, slower to test
                _note_authenticate(request)  # it answered: no terminal action ran
                return outcome
            passed = outcome
        elif not self.settings.strip_oidc_headers_everywhere:
            passed = AuthPassed(tuple((k, v) for k, v in request.headers.items()
                                      if k.lower().startswith("x-amzn-oidc-")))
        if isinstance(action, ForwardAction):
            return await self.forward(request, rule, action, passed, origin or self.origin(request), xff, target)
        if isinstance(action, FixedResponseAction):
            resp = web.Response(status=action.status, text=action.body,
                                content_type=action.content_type or "text/plain")
        else:
            resp = web.Response(status=action.status)
            resp.headers["Location"] = resp[REDIRECT_URL] = self.redirect_location(request, action, target.path)
        resp.headers["Server"] = SERVER
        for cookie in passed.set_cookies:
            resp.headers.add("Set-Cookie", cookie)
        return resp

    async def forward(self, request: web.BaseRequest, rule: Rule, action: ForwardAction, passed: AuthPassed,
                      origin: ClientOrigin, xff: str | None, target: NormalTarget) -> web.StreamResponse:
        rewrites, path_qs = self._rewrites.get(rule.key), target.path_qs
        try:
            if rewrites is not None:  # ALB's Transforms: the target sees the rewritten request
                path_qs = rewrites.path_qs_for_target(path_qs or request.raw_path, self._path_policy)
            fwd_headers = forwarded_request_headers(
                request, xff=xff, proto=origin.scheme, port=origin.port, auth_headers=passed.headers,
                settings=self.settings, attributes=self.listener.attributes,
                rewrite_host=rewrites.host_for_target if rewrites is not None else None,
                mutual_tls=self.listener.mutual_tls is not None)
        except RewriteFailed as exc:
            log.warning("rule %s: %s", rule.key, exc)
            return alb_error_response(500)
        choice = self.picker.choose(action, lambda: request.cookies)
        if choice is None:
            return alb_error_response(503)
        record = record_of(request)
        if record is not None:
            record.target_group = choice.group
        cookies = (*passed.set_cookies, *choice.set_cookies)
        unreachable = False

        def refused() -> None:
            nonlocal unreachable
            unreachable = True

        try:
            return await self.forwarder.forward(
                request, choice.url, fwd_headers, [("Set-Cookie", c) for c in cookies] if cookies else (),
                path_qs=path_qs, replace_headers=self._responses.headers, on_unreachable=refused)
        finally:
            choice.done(unreachable)

    def redirect_location(self, request: web.BaseRequest, action: RedirectAction, raw_path: str) -> str:
        origin = self.origin(request)
        raw_query = request.raw_path.partition("?")[2]
        values = {
            "#{protocol}": origin.scheme,
            "#{host}": host_for_rules(request.headers.get("Host")),
            "#{port}": origin.port,
            "#{path}": raw_path.lstrip("/"),  # ALB writes /#{path}: the placeholder has no leading slash
            "#{query}": raw_query,
        }

        def fill(template: str) -> str:
            for key, value in values.items():
                template = template.replace(key, value)
            return template

        scheme = fill(action.protocol).lower()
        location = f"{scheme}://{fill(action.host)}:{fill(action.port)}{fill(action.path)}"
        query = fill(action.query)
        return f"{location}?{query}" if query else location


def _note_authenticate(request: web.BaseRequest) -> None:
    record = record_of(request)
    if record is not None:
        record.actions = "authenticate"


def _nearest_proxy_value(request: web.BaseRequest, name: str) -> str | None:
    """The value the nearest proxy added: the last element of the last line. Earlier ones
    come from further away, the client included, and prove nothing."""
    lines = request.headers.getall(name, ())
    return lines[-1].rpartition(",")[2].strip() if lines else None


def _is_port(value: str) -> bool:
    return 0 < len(value) <= 5 and value.isascii() and value.isdigit() and 0 < int(value) <= 65535
