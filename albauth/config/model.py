"""The configuration model: ALB's listener/rule/action shapes, plus albauth's own settings.

Frozen dataclasses built once by `albauth.config.load`; the running server only reads them.
Field names follow ALB's API where the thing is ALB's, and albauth's own words elsewhere.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

# --- Conditions (spec 7.2) -------------------------------------------------------------


@dataclass(frozen=True)
class HostHeaderCondition:
    values: tuple[str, ...]
    # ALB's RegexValues (either these or values): searched with RE2 (albauth.regex) in the
    # Host header as sent, port included.
    regex_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class PathPatternCondition:
    values: tuple[str, ...]
    regex_values: tuple[str, ...] = ()  # searched in the normalized, decoded path


@dataclass(frozen=True)
class HttpHeaderCondition:
    name: str
    values: tuple[str, ...]
    regex_values: tuple[str, ...] = ()  # searched in each of the header's values


@dataclass(frozen=True)
class HttpRequestMethodCondition:
    values: tuple[str, ...]


@dataclass(frozen=True)
class QueryStringCondition:
    pairs: tuple[tuple[str | None, str], ...]  # (Key or None for "any key", Value)


@dataclass(frozen=True)
class SourceIpCondition:
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


Condition = (
    HostHeaderCondition
    | PathPatternCondition
    | HttpHeaderCondition
    | HttpRequestMethodCondition
    | QueryStringCondition
    | SourceIpCondition
)

# --- Actions (spec 7.3) ----------------------------------------------------------------


@dataclass(frozen=True)
class WeightedTargetGroup:
    name: str
    weight: int


@dataclass(frozen=True)
class ForwardAction:
    target_groups: tuple[WeightedTargetGroup, ...]
    # TargetGroupStickinessConfig: seconds a client stays with the group it got (AWSALBTG); 0: off.
    group_stickiness_seconds: int = 0


@dataclass(frozen=True)
class FixedResponseAction:
    status: int
    content_type: str | None
    body: str


@dataclass(frozen=True)
class RedirectAction:
    protocol: str  # HTTP | HTTPS | #{protocol}
    port: str  # digits | #{port}
    host: str
    path: str
    query: str
    status: int  # 301 | 302


TerminalAction = ForwardAction | FixedResponseAction | RedirectAction

OnUnauthenticated = Literal["authenticate", "deny", "allow"]


@dataclass(frozen=True)
class AuthenticateConfig:
    """One authenticate-oidc or authenticate-cognito action, normalised to OIDC terms.

    For Cognito the endpoints and issuer are derived from the user pool (spec 1.2.1)."""

    kind: Literal["oidc", "cognito"]
    issuer: str
    authorization_endpoint: str | None  # None: from OIDC discovery (albauth extension)
    token_endpoint: str | None
    userinfo_endpoint: str | None
    client_id: str
    client_secret: str
    session_cookie_name: str = "AWSELBAuthSessionCookie"
    scope: str = "openid"
    session_timeout: int = 604800
    extra_params: tuple[tuple[str, str], ...] = ()
    on_unauthenticated: OnUnauthenticated = "authenticate"
    # albauth extensions (action-level `albauth:` block)
    client_auth: Literal["post", "basic"] = "post"
    pkce: bool = False
    nonce: bool = False
    jwks_uri: str | None = None
    idp_timeout: float = 10.0
    logout_endpoint: str | None = None  # Cognito's /logout, for apps
    # Opt-in logout beyond ALB (which has none, spec 3.2); unset = off, as ALB.
    logout_path: str | None = None  # answered by albauth: ends the session, then the IdP's
    post_logout_redirect_uri: str | None = None  # required with logout_path
    backchannel_logout_path: str | None = None  # OIDC Back-Channel Logout 1.0 receiver
    # logout_path answers POST or a same-origin request; true also a cross-site GET (a link).
    logout_allow_cross_site_get: bool = False
    # Where the session's claims come from: UserInfo (ALB), the ID token, or both (UserInfo wins).
    claims_source: Literal["userinfo", "id_token", "merge"] = "userinfo"
    # Single-page apps (each off, as ALB): a 401 with JSON instead of a 302 for requests that
    # cannot follow a cross-origin redirect; CORS preflights forwarded without a session; a
    # page instead of another redirect after `redirect_loop_limit` logins within the window.
    xhr_401: bool = False
    allow_cors_preflight: bool = False
    redirect_loop_limit: int = 0  # 0: off
    redirect_loop_window: float = 60.0
    # App test suites: every request is this user ((name, claims as JSON) pairs; the first
    # is the default), signed as ALB would, with no provider. Loopback listeners only.
    static_identity: tuple[tuple[str, str], ...] = ()
    static_identity_header: str | None = None  # a request header naming one of the users


ClaimFormat = Literal["single-string", "string-array", "space-separated-values"]


@dataclass(frozen=True)
class AdditionalClaim:
    format: ClaimFormat
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class JwtValidationConfig:
    """ALB's `jwt-validation` action: a bearer JWT from `Authorization`, checked against a JWKS."""

    jwks_endpoint: str
    issuer: str
    additional_claims: tuple[AdditionalClaim, ...] = ()
    # albauth extension: ALB accepts RS256 only.
    algorithms: tuple[str, ...] = ("RS256",)


@dataclass(frozen=True)
class Rewrite:
    """One rule transform's RewriteConfig: the first match of `regex` (RE2) becomes `replace`
    (`$1`.. name capture groups)."""

    regex: str
    replace: str


@dataclass(frozen=True)
class Rule:
    priority: int | None  # None: the listener's default rule
    conditions: tuple[Condition, ...]
    authenticate: AuthenticateConfig | None
    action: TerminalAction
    key: str  # where the rule sits in the config, for messages and logs
    jwt_validation: JwtValidationConfig | None = None
    # The rule's Transforms (ALB: applied to the forwarded request after matching).
    host_header_rewrite: Rewrite | None = None
    url_rewrite: Rewrite | None = None


# --- albauth's own settings ------------------------------------------------------------


@dataclass(frozen=True)
class TargetGroup:
    name: str
    targets: tuple[str, ...]  # base URLs, e.g. http://127.0.0.1:8080
    # ALB's target group attributes (albauth.config.target_groups):
    algorithm: Literal["round_robin", "least_outstanding_requests"] = "round_robin"
    stickiness_seconds: int = 0  # stickiness.enabled with lb_cookie: AWSALB's lifetime; 0: off
    # albauth's passive health: a target refusing connections is skipped this long (0: never).
    unreachable_pause: float = 10.0


@dataclass(frozen=True)
class ListenerAttributes:
    """ALB's listener attributes (header modification, albauth.config.listener_attributes)."""

    # Set on every response, replacing the target's own value (ALB "updates the header value").
    response_headers: tuple[tuple[str, str], ...] = ()
    server_header: bool = True  # routing.http.response.server.enabled: `Server: awselb/2.0` on ALB's own answers
    request_header_names: tuple[tuple[str, str], ...] = ()  # (the mTLS/TLS header ALB adds, its new name)

    def request_header_name(self, alb_name: str) -> str:
        return next((new for old, new in self.request_header_names if old == alb_name), alb_name)


@dataclass(frozen=True)
class MutualTls:
    """ALB's MutualAuthentication in verify mode; the trust store is a CA bundle file (an ARN
    cannot be resolved here)."""

    trust_store_file: str
    ignore_client_certificate_expiry: bool = False


@dataclass(frozen=True)
class Listener:
    protocol: Literal["HTTP", "HTTPS"]
    port: int
    address: str = "0.0.0.0"
    certificate_file: str | None = None
    key_file: str | None = None
    rules: tuple[Rule, ...] = ()  # sorted by priority; the default rule is last
    # Authentication on an HTTP listener: behind a TLS-terminating proxy (scheme and port
    # come from X-Forwarded-Proto/-Port) or local development on loopback.
    trust_forwarded_proto: bool = False
    local_development: bool = False
    attributes: ListenerAttributes = ListenerAttributes()
    mutual_tls: MutualTls | None = None  # None: Mode off

    @property
    def has_authenticate(self) -> bool:
        return any(r.authenticate is not None for r in self.rules)


# Each session secret's minimum length, checked when the configuration loads and again by the
# sealer (albauth.session.sealing imports it: config is the lower layer).
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class SessionSettings:
    store: Literal["cookie", "memory", "redis"] = "cookie"
    redis_url: str | None = None
    secrets: tuple[str, ...] = ()  # empty: generated at start, with a warning
    key_prefix: str = "albauth:"


@dataclass(frozen=True)
class SigningSettings:
    key_file: str | None = None  # PEM file; created when missing
    signer_arn: str | None = None  # None: a realistic default from region/account
    region: str = "us-east-1"
    account: str = "123456789012"
    encoding: Literal["alb", "standard"] = "alb"
    lifetime: int = 120
    reuse_seconds: int = 30  # reuse a signed header for a session this long


@dataclass(frozen=True)
class ProxySettings:
    connect_timeout: float = 10.0
    idle_timeout: float = 60.0  # ALB's default idle timeout
    strip_oidc_headers_everywhere: bool = True  # spec 9 #14: also on rules without auth
    expose_error_reason: bool = False  # x-alb-emulator-error-reason header
    # ALB does not validate the certificates of HTTPS targets; verifying them is opt-in.
    verify_target_certificates: bool = False
    # ALB's load-balancer attribute routing.http.drop_invalid_header_fields.enabled: drop request
    # headers whose name is outside [-A-Za-z0-9] (default false, as ALB).
    drop_invalid_header_fields: bool = False
    # ALB's load-balancer attributes for forwarded requests (albauth.config.attributes):
    xff_mode: Literal["append", "preserve", "remove"] = "append"  # routing.http.xff_header_processing.mode
    xff_client_port: bool = False  # routing.http.xff_client_port.enabled: `ip:port` in append mode
    # routing.http.preserve_host_header.enabled; off (ALB's default): the port goes on 80/443 and is
    # added on other listener ports.
    preserve_host_header: bool = False
    tls_version_and_cipher_headers: bool = False  # routing.http.x_amzn_tls_version_and_cipher_suite.enabled
    client_keep_alive: float = 3600.0  # client_keep_alive.seconds: a client connection's longest life
    # How a request path is normalized before rules and targets see it (albauth.paths; ALB: undocumented):
    reject_encoded_slash: bool = True  # %2F / %5C answered 400; false: kept encoded, not separators
    merge_slashes: bool = True  # //a///b is /a/b
    reject_dot_segment_parameters: bool = True  # `..;x`, `.;x`, `;x` segments answered 400 (Tomcat drops them)


def _loopback() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))


@dataclass(frozen=True)
class ForwardAuthSettings:
    """`/oauth2/auth` and `/oauth2/start` for ingress controllers (albauth.forward_auth; no ALB
    equivalent). Off: those paths are ordinary paths, matched by the rules."""

    enabled: bool = False
    # Peers whose X-Original-* / X-Forwarded-* headers are believed; anyone else gets 403.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default_factory=_loopback)
    # Hosts `rd` may name besides the request's own: `a.example` exactly, `.example.com` that
    # domain and its subdomains.
    allowed_redirect_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessLogSettings:
    """ALB's access log (albauth.ops.access_log); off by default, as on ALB."""

    format: Literal["alb", "json", "off"] = "off"
    file: str | None = None  # None: stdout
    elb: str | None = None  # the `elb` field (app/<name>/<id>); None: app/albauth/<id of this host>


@dataclass(frozen=True)
class Settings:
    listeners: tuple[Listener, ...]
    target_groups: dict[str, TargetGroup] = field(default_factory=dict)
    session: SessionSettings = SessionSettings()
    signing: SigningSettings = SigningSettings()
    proxy: ProxySettings = ProxySettings()
    forward_auth: ForwardAuthSettings = ForwardAuthSettings()
    admin_listen: tuple[str, int] | None = ("127.0.0.1", 9901)
    log_level: str = "INFO"
    source: str = "environment"  # the file the settings came from
    listen_backlog: int = 4096  # each listening socket's accept queue (1-65535)
    max_connections: int = 10000  # open client connections per process; past it new ones are closed early
    access_log: AccessLogSettings = AccessLogSettings()
    # A PEM CA bundle trusted for calls to OpenID providers, on top of the system's store
    # (itself replaced by SSL_CERT_FILE when set): an enterprise provider's private CA.
    ca_file: str | None = None
