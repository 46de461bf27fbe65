"""`albauth dev`'s options: its flags, and the `ALBAUTH_*` variables that mean something in
dev mode, where the stack is its own provider, store and target.

Honoured (a flag given on the command line wins over its variable):
  ALBAUTH_UPSTREAM            --upstream: your app instead of the demo
  ALBAUTH_SESSION_TIMEOUT     --session-timeout
  ALBAUTH_SESSION_COOKIE_NAME SessionCookieName
  ALBAUTH_SIGNER_ARN          the `signer` apps pin in x-amzn-oidc-data
  ALBAUTH_JWT_ENCODING        alb (padded, as ALB) or standard
  ALBAUTH_SIGNING_KEY_FILE    the signing key (default: in the state directory)
Ignored, because dev mode supplies them itself: the ALBAUTH_OIDC_* provider settings (use
`albauth serve` for a real provider), ALBAUTH_SESSION_STORE/SECRET (sessions are in memory),
ALBAUTH_LISTEN and the TLS files (see --listen, --port).
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from albauth.devidp.serve import add_cognito_arguments, cognito_pool
from albauth.devidp.settings import CognitoPool

HOST = "127.0.0.1"
DEFAULT_SESSION_TIMEOUT = 604800
# The variables above, for the README and `--help`.
HONOURED_VARIABLES = ("ALBAUTH_UPSTREAM", "ALBAUTH_SESSION_TIMEOUT", "ALBAUTH_SESSION_COOKIE_NAME",
                      "ALBAUTH_SIGNER_ARN", "ALBAUTH_JWT_ENCODING", "ALBAUTH_SIGNING_KEY_FILE")


def default_state_dir(env: Mapping[str, str]) -> str:
    """Per user, per XDG Base Directory: `$XDG_STATE_HOME/albauth`, else ~/.local/state/albauth."""
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return str(Path(base) / "albauth")


def add_arguments(parser: argparse.ArgumentParser, env: Mapping[str, str] | None = None) -> None:
    env = os.environ if env is None else env
    parser.add_argument("--port", type=int, default=8080, help="albauth's listener (default 8080)")
    parser.add_argument("--idp-port", type=int, default=9000, help="built-in provider (default 9000)")
    parser.add_argument("--app-port", type=int, default=8081, help="demo app (default 8081)")
    parser.add_argument("--admin-port", type=int, default=9901, help="admin/key endpoint (default 9901)")
    parser.add_argument("--users", metavar="FILE", help="users and clients YAML for the provider")
    parser.add_argument("--as", dest="as_user", metavar="USER",
                        help="skip the sign-in: every request is USER from the users file, signed as ALB signs "
                             f"it; a request may name another user in {AS_USER_HEADER}")
    parser.add_argument("--upstream", metavar="URL", default=env.get("ALBAUTH_UPSTREAM"),
                        help="put your own app behind albauth instead of the demo (ALBAUTH_UPSTREAM)")
    parser.add_argument("--session-timeout", type=int,
                        default=env.get("ALBAUTH_SESSION_TIMEOUT", DEFAULT_SESSION_TIMEOUT),
                        help="SessionTimeout seconds (ALBAUTH_SESSION_TIMEOUT; default 604800)")
    parser.add_argument("--listen", metavar="ADDRESS", default=HOST,
                        help="bind this address (default 127.0.0.1; 0.0.0.0 inside a container, on purpose only)")
    parser.add_argument("--state-dir", metavar="DIR", default=default_state_dir(env),
                        help="where the signing and provider keys persist (default $XDG_STATE_HOME/albauth "
                             "or ~/.local/state/albauth)")
    add_cognito_arguments(parser)


AS_USER_HEADER = "X-Albauth-Dev-User"


@dataclass(frozen=True)
class DevOptions:
    port: int = 8080
    idp_port: int = 9000
    app_port: int = 8081
    admin_port: int = 9901
    users: str | None = None
    upstream: str | None = None
    session_timeout: int = DEFAULT_SESSION_TIMEOUT
    listen: str = HOST  # what the servers bind; the URLs still say 127.0.0.1
    state_dir: str | None = None  # None: keys live as long as the process
    cognito: CognitoPool | None = None  # set: authenticate-cognito against the Cognito stand-in
    signer_arn: str | None = None
    session_cookie_name: str | None = None
    jwt_encoding: str | None = None
    signing_key_file: str | None = None
    as_user: str | None = None  # every request is this user, no sign-in (static identity)

    @classmethod
    def from_args(cls, args: argparse.Namespace, env: Mapping[str, str] | None = None) -> DevOptions:
        env = os.environ if env is None else env
        return cls(port=args.port, idp_port=args.idp_port, app_port=args.app_port,
                   admin_port=args.admin_port, users=args.users, upstream=args.upstream,
                   session_timeout=args.session_timeout,
                   listen=getattr(args, "listen", HOST), state_dir=getattr(args, "state_dir", None),
                   cognito=cognito_pool(args) if hasattr(args, "cognito") else None,
                   signer_arn=env.get("ALBAUTH_SIGNER_ARN") or None,
                   session_cookie_name=env.get("ALBAUTH_SESSION_COOKIE_NAME") or None,
                   jwt_encoding=env.get("ALBAUTH_JWT_ENCODING") or None,
                   signing_key_file=env.get("ALBAUTH_SIGNING_KEY_FILE") or None,
                   as_user=getattr(args, "as_user", None))

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def issuer(self) -> str:
        """The provider's address; in Cognito mode its issuer adds the pool id as the path."""
        return f"http://{HOST}:{self.idp_port}"

    @property
    def admin_url(self) -> str:
        return f"http://{HOST}:{self.admin_port}"

    @property
    def exposed(self) -> bool:
        """Binding beyond loopback: anyone who reaches the ports can sign in as the demo users."""
        from albauth.config.loopback import host_is_loopback  # the config package: not for --help

        return not host_is_loopback(self.listen)

    def key_file(self, name: str) -> str | None:
        """A file in the state directory (created 0700 on first use), or None without one,
        or when it cannot be made (a container's read-only root, a home that does not exist):
        dev mode then runs with keys of its own, as without --state-dir."""
        if self.state_dir is None:
            return None
        path = Path(self.state_dir)
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            logging.getLogger("albauth").warning("cannot keep keys in %s (%s): new keys each run; "
                                                 "give --state-dir a writable directory", path, exc.strerror)
            return None
        return str(path / name)

    def ports(self) -> list[tuple[int, str, str]]:
        """(port, what listens there, the flag that changes it), in start order."""
        ports = [(self.idp_port, "the OpenID provider", "--idp-port")]
        if self.upstream is None:
            ports.append((self.app_port, "the demo app", "--app-port"))
        ports += [(self.port, "albauth", "--port"), (self.admin_port, "albauth's admin listener", "--admin-port")]
        return ports
