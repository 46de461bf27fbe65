"""The development IdP's users and clients, read from YAML.

The file is checked as a whole: every problem is collected into one `ConfigError`
naming the file, the key path (`users[1].password`) and what is wrong, so a user fixes
their file in one pass instead of one error at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from albauth.config.errors import ConfigError, ConfigIssue

DEFAULT_FILE = "<built-in devidp/default.yaml>"

# A fixed namespace so a user's default `sub` is the same on every run and every
# machine: tokens and sessions minted yesterday still name the same subject today.
_SUB_NAMESPACE = uuid.UUID("3f0e5a52-6c3b-4c1e-9a53-6b8d2f1f0a11")

# Claims the provider sets itself; a user's extra claims must not shadow them.
RESERVED_CLAIMS = frozenset({
    "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "azp",
    "at_hash", "c_hash", "scope", "client_id", "email", "email_verified", "name",
    "preferred_username", "groups",
    # Cognito mode's own (albauth idp --cognito)
    "username", "token_use", "cognito:username", "cognito:groups", "event_id", "origin_jti", "version",
})


def default_sub(username: str) -> str:
    return str(uuid.uuid5(_SUB_NAMESPACE, username))


@dataclass(frozen=True)
class IdpUser:
    username: str
    password: str
    sub: str = ""  # empty: derived from the username (stable uuid5)
    email: str | None = None
    name: str | None = None
    groups: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    email_verified: bool = True  # Cognito's attribute; OIDC's claim when the user has an email

    def __post_init__(self) -> None:
        if not self.sub:
            object.__setattr__(self, "sub", default_sub(self.username))
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "claims", MappingProxyType(dict(self.claims)))


@dataclass(frozen=True)
class IdpClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    issue_refresh_tokens: bool = True
    # Cognito keeps one refresh token valid for its whole lifetime; rotation is opt-in.
    rotate_refresh_tokens: bool = False


@dataclass(frozen=True)
class CognitoPool:
    """The user pool a Cognito-mode provider stands in for: its tokens and pages are
    shaped as Cognito's, its issuer is `<base>/<pool_id>` as Cognito's is
    `https://cognito-idp.<region>.amazonaws.com/<pool_id>`."""

    region: str = "us-east-1"
    pool_id: str = "us-east-1_Dev000000"


@dataclass(frozen=True)
class IdpSettings:
    issuer: str
    users: tuple[IdpUser, ...]
    clients: tuple[IdpClient, ...]
    access_token_ttl: int = 300
    id_token_ttl: int = 300
    refresh_token_ttl: int = 86400
    code_ttl: int = 60
    # Off by default so every /authorize shows the form (predictable for tests); on,
    # a signed-in browser is sent straight back like at a real IdP, unless prompt=login.
    remember_login: bool = False
    cognito: CognitoPool | None = None  # set: Cognito mode (hosted-domain paths, Cognito's tokens)

    def __post_init__(self) -> None:
        # The issuer is compared byte for byte by relying parties (OIDC Discovery 4.3);
        # one canonical form without the trailing slash avoids "//authorize".
        object.__setattr__(self, "issuer", self.issuer.rstrip("/"))

    @property
    def hosted_domain(self) -> str:
        """Cognito mode: the user pool domain's stand-in (scheme and host of the issuer),
        where /oauth2/authorize, /login and /logout are served."""
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    def user(self, username: str) -> IdpUser | None:
        return next((u for u in self.users if u.username == username), None)

    def user_by_sub(self, sub: str) -> IdpUser | None:
        return next((u for u in self.users if u.sub == sub), None)

    def client(self, client_id: str) -> IdpClient | None:
        return next((c for c in self.clients if c.client_id == client_id), None)


def load_idp_settings(path: str | None, issuer: str, *, cognito: CognitoPool | None = None) -> IdpSettings:
    """Read users and clients from `path` (None: the built-in demo users). The
    `issuer` argument wins over the file's, since only the caller knows where it serves.
    With `cognito`, the provider stands in for that user pool, and the issuer gets the
    pool id as its path."""
    if cognito is not None:
        issuer = f"{issuer.rstrip('/')}/{cognito.pool_id}"
    if path is None:
        text = resources.files("albauth.devidp").joinpath("default.yaml").read_text("utf-8")
        return parse_idp_settings(text, DEFAULT_FILE, issuer, cognito=cognito)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError([ConfigIssue(path, "", f"cannot read the file: {exc.strerror}")]) from exc
    return parse_idp_settings(text, path, issuer, cognito=cognito)


def parse_idp_settings(text: str, file: str, issuer: str | None = None, *,
                       cognito: CognitoPool | None = None) -> IdpSettings:
    import yaml  # here, not at the top: the command line imports this module for its flags

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(file, "", f"not valid YAML: {exc}")]) from exc
    reader = _Reader(file)
    settings = reader.settings(doc if doc is not None else {}, issuer, cognito)
    if reader.issues or settings is None:
        raise ConfigError(reader.issues)
    return settings


_TOP_KEYS = {"issuer", "access_token_ttl", "id_token_ttl", "refresh_token_ttl", "code_ttl",
             "remember_login", "users", "clients"}
_USER_KEYS = {"username", "password", "sub", "email", "email_verified", "name", "groups", "claims"}
_CLIENT_KEYS = {"client_id", "client_secret", "redirect_uris", "post_logout_redirect_uris",
                "issue_refresh_tokens", "rotate_refresh_tokens"}
_TTLS = {"access_token_ttl": 300, "id_token_ttl": 300, "refresh_token_ttl": 86400, "code_ttl": 60}


class _Reader:
    """Walks the parsed YAML, converting what is valid and recording what is not."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[ConfigIssue] = []

    def issue(self, key: str, message: str) -> None:
        self.issues.append(ConfigIssue(self.file, key, message))

    def settings(self, doc: Any, issuer: str | None, cognito: CognitoPool | None = None) -> IdpSettings | None:
        if not isinstance(doc, dict):
            self.issue("", "the file must be a mapping with 'users' and 'clients'")
            return None
        self.unknown_keys(doc, _TOP_KEYS, "")
        file_issuer = self.opt_str(doc, "issuer", "issuer")
        if issuer is None and file_issuer is None:
            self.issue("issuer", "required (in the file or from the command line)")
        final_issuer = issuer or file_issuer or ""
        if final_issuer and not final_issuer.startswith(("http://", "https://")):
            self.issue("issuer", f"must be an http(s) URL, got {final_issuer!r}")
        ttls = {key: self.ttl(doc, key, default) for key, default in _TTLS.items()}
        # Cognito's hosted UI keeps its own session (the `cognito` cookie): a second sign-in
        # within it is silent, which is what its /logout exists to end.
        remember = self.opt_bool(doc, "remember_login", "remember_login", cognito is not None)
        users = tuple(self.users(doc.get("users")))
        clients = tuple(self.clients(doc.get("clients")))
        return IdpSettings(issuer=final_issuer, users=users, clients=clients,
                           remember_login=remember, cognito=cognito, **ttls)

    def users(self, raw: Any) -> list[IdpUser]:
        if not isinstance(raw, list) or not raw:
            self.issue("users", "a non-empty list of users is required")
            return []
        users: list[IdpUser] = []
        for i, item in enumerate(raw):
            key = f"users[{i}]"
            if not isinstance(item, dict):
                self.issue(key, "must be a mapping with 'username' and 'password'")
                continue
            self.unknown_keys(item, _USER_KEYS, key)
            username = self.req_str(item, "username", f"{key}.username")
            password = self.req_str(item, "password", f"{key}.password")
            sub = self.opt_str(item, "sub", f"{key}.sub")
            email = self.opt_str(item, "email", f"{key}.email")
            verified = self.opt_bool(item, "email_verified", f"{key}.email_verified", True)
            name = self.opt_str(item, "name", f"{key}.name")
            groups = self.str_list(item, "groups", f"{key}.groups")
            claims = self.claims(item.get("claims"), f"{key}.claims")
            if username is None or password is None:
                continue
            user = IdpUser(username, password, sub or "", email, name, tuple(groups), claims, verified)
            if any(u.username == user.username for u in users):
                self.issue(f"{key}.username", f"duplicate username {username!r}")
            elif any(u.sub == user.sub for u in users):
                self.issue(f"{key}.sub", f"duplicate sub {user.sub!r}")
            else:
                users.append(user)
        return users

    def clients(self, raw: Any) -> list[IdpClient]:
        if not isinstance(raw, list) or not raw:
            self.issue("clients", "a non-empty list of clients is required")
            return []
        clients: list[IdpClient] = []
        for i, item in enumerate(raw):
            key = f"clients[{i}]"
            if not isinstance(item, dict):
                self.issue(key, "must be a mapping with 'client_id', 'client_secret' and 'redirect_uris'")
                continue
            self.unknown_keys(item, _CLIENT_KEYS, key)
            client_id = self.req_str(item, "client_id", f"{key}.client_id")
            secret = self.req_str(item, "client_secret", f"{key}.client_secret")
            redirect_uris = self.url_patterns(item, "redirect_uris", f"{key}.redirect_uris", required=True)
            logout_uris = self.url_patterns(item, "post_logout_redirect_uris",
                                            f"{key}.post_logout_redirect_uris", required=False)
            issue_rt = self.opt_bool(item, "issue_refresh_tokens", f"{key}.issue_refresh_tokens", True)
            rotate_rt = self.opt_bool(item, "rotate_refresh_tokens", f"{key}.rotate_refresh_tokens", False)
            if client_id is None or secret is None:
                continue
            if any(c.client_id == client_id for c in clients):
                self.issue(f"{key}.client_id", f"duplicate client_id {client_id!r}")
                continue
            clients.append(IdpClient(client_id, secret, tuple(redirect_uris), tuple(logout_uris),
                                     issue_rt, rotate_rt))
        return clients

    # -- field readers: each returns a usable value or None and records the problem --

    def unknown_keys(self, mapping: dict[Any, Any], known: set[str], prefix: str) -> None:
        for k in mapping:
            if k not in known:
                path = f"{prefix}.{k}" if prefix else str(k)
                self.issue(path, f"unknown key (expected one of: {', '.join(sorted(known))})")

    def req_str(self, mapping: dict[Any, Any], name: str, key: str) -> str | None:
        value = mapping.get(name)
        if value is None:
            self.issue(key, "required")
            return None
        if not isinstance(value, str) or not value:
            self.issue(key, f"must be a non-empty string, got {value!r}")
            return None
        return value

    def opt_str(self, mapping: dict[Any, Any], name: str, key: str) -> str | None:
        value = mapping.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.issue(key, f"must be a non-empty string, got {value!r}")
            return None
        return value

    def opt_bool(self, mapping: dict[Any, Any], name: str, key: str, default: bool) -> bool:
        value = mapping.get(name, default)
        if not isinstance(value, bool):
            self.issue(key, f"must be true or false, got {value!r}")
            return default
        return value

    def ttl(self, mapping: dict[Any, Any], name: str, default: int) -> int:
        value = mapping.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.issue(name, f"must be a positive whole number of seconds, got {value!r}")
            return default
        return value

    def str_list(self, mapping: dict[Any, Any], name: str, key: str) -> list[str]:
        value = mapping.get(name, [])
        if not isinstance(value, list):
            self.issue(key, f"must be a list of strings, got {value!r}")
            return []
        good = []
        for i, v in enumerate(value):
            if isinstance(v, str) and v:
                good.append(v)
            else:
                self.issue(f"{key}[{i}]", f"must be a non-empty string, got {v!r}")
        return good

    def url_patterns(self, mapping: dict[Any, Any], name: str, key: str, *, required: bool) -> list[str]:
        if required and not mapping.get(name):
            self.issue(key, "a non-empty list of URL patterns is required")
            return []
        patterns = self.str_list(mapping, name, key)
        for i, p in enumerate(patterns):
            if not p.startswith(("http://", "https://")):
                self.issue(f"{key}[{i}]", f"must be an http(s) URL pattern, got {p!r}")
        return patterns

    def claims(self, raw: Any, key: str) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.issue(key, f"must be a mapping of claim names to values, got {raw!r}")
            return {}
        good = {}
        for name, value in raw.items():
            if not isinstance(name, str):
                self.issue(f"{key}.{name}", "claim names must be strings")
            elif name in RESERVED_CLAIMS:
                self.issue(f"{key}.{name}", "is set by the provider itself; use the user's own field")
            else:
                good[name] = value
        return good
