"""`albauth verify-token`: decode and verify an `x-amzn-oidc-data` value the way an app
behind ALB must (AWS's "Authenticate users using an Application Load Balancer", step
"verify the signature"): fetch the public key by the header's `kid` from the region's key
endpoint (or albauth's admin listener, which answers the same), check ES256 over the
padded `header.payload` text as sent, pin the signer, then check expiry.

Prints `{"header": ..., "claims": ...}` as JSON, keys in the token's order."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from albauth.signing.albjwt import AlbToken, InvalidAlbToken, decode_unverified, verify_alb_jwt

__all__ = ["register_verify_token"]

EXIT_FAILED = 1
EXIT_USAGE = 2
_MAX_KEY_BYTES = 64 * 1024
# ALB's kids are UUIDs (aws-jwt-verify refuses anything else), and so are albauth's. The kid
# comes from the unverified token and goes into the key URL's path: nothing else may pass.
_KID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEADER_NAME = re.compile(r"^\s*x-amzn-oidc-data\s*:\s*", re.IGNORECASE)

_EPILOG = """\
examples:
  # a token from a target's request log, against ALB's key endpoint for its region
  albauth verify-token --keys-url https://public-keys.auth.elb.eu-west-1.amazonaws.com \\
      --signer arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/0123456789abcdef \\
      "$TOKEN"
  # against albauth's admin listener, pinning the provider and the client
  echo "$TOKEN" | albauth verify-token - --keys-url http://127.0.0.1:9901 --issuer https://idp.example.com \\
      --client my-client
  # with a PEM public key, checking the signature as of the token's issue time
  albauth verify-token --key alb-key.pem --at 1687748000 "$TOKEN"
  # just decode (no signature check)
  albauth verify-token --unverified "$TOKEN" | jq .claims

A value pasted with its header name ("x-amzn-oidc-data: eyJ...") is accepted.
exit status: 0 verified (header and claims printed as JSON on stdout), 1 verification failed
or the key could not be fetched (one line on stderr), 2 usage error"""


class _Failed(Exception):
    """One line for stderr; `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def register_verify_token(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("verify-token", help="decode and verify an x-amzn-oidc-data value; prints it as JSON",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("token", nargs="?", default="-", metavar="TOKEN|-", help="the value; - or nothing: stdin")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--keys-url", metavar="URL",
                        help="where GET URL/<kid> answers the PEM public key: "
                             "https://public-keys.auth.elb.<region>.amazonaws.com or albauth's admin listener")
    source.add_argument("--key", metavar="FILE", help="a PEM public key file")
    source.add_argument("--unverified", action="store_true", help="only decode: the signature is NOT checked")
    p.add_argument("--signer", metavar="ARN", help="the load balancer ARN the header's signer must be")
    p.add_argument("--issuer", metavar="URL", help="the provider's issuer the header's iss must be")
    p.add_argument("--client", metavar="ID", help="the client id the header's client must be")
    p.add_argument("--leeway", type=float, default=0.0, metavar="SECONDS",
                   help="accept a token this long after its exp (clock skew; default 0)")
    p.add_argument("--at", type=float, metavar="UNIX_TIME", help="check exp as of this time (default: now)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="for fetching the key")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        token = _read_token(args.token)
        result = _decode(token) if args.unverified else _verify(token, args)
    except _Failed as exc:
        print(f"albauth: verify-token: {exc}", file=sys.stderr)
        return exc.code
    print(json.dumps({"header": result.header, "claims": result.claims}, indent=2, ensure_ascii=False))
    return 0


def _read_token(arg: str) -> str:
    text = sys.stdin.read() if arg == "-" else arg
    token = _HEADER_NAME.sub("", text.strip()).strip()
    if not token:
        raise _Failed("no token given (as an argument, or on stdin with -)", EXIT_USAGE)
    return token


def _decode(token: str) -> AlbToken:
    try:
        return decode_unverified(token)
    except InvalidAlbToken as exc:
        raise _Failed(f"not an x-amzn-oidc-data token: {exc.reason}") from None


def _verify(token: str, args: argparse.Namespace) -> AlbToken:
    if not (args.keys_url or args.key):
        raise _Failed("give --keys-url URL or --key FILE (or --unverified to only decode)", EXIT_USAGE)
    header = _decode(token).header
    pem = _read_key_file(args.key) if args.key else _fetch_key(args.keys_url, header.get("kid"), args.timeout)
    at = time.time() if args.at is None else args.at
    try:
        # verify_alb_jwt refuses exp <= now; with a leeway, exp + leeway <= at.
        verified = verify_alb_jwt(token, pem, expected_signer=args.signer, now=at - args.leeway)
    except InvalidAlbToken as exc:
        if exc.reason == "token has expired":
            raise _Failed(f"token has expired (exp {header.get('exp')}, checked at {int(at)}, "
                          f"leeway {args.leeway:g} s)") from None
        raise _Failed(exc.reason) from None
    _check_pinned(verified, "iss", args.issuer, "issuer")
    _check_pinned(verified, "client", args.client, "client")
    if args.signer is None and args.keys_url:
        # Every ALB in a region signs with keys from the same endpoint: only the signer
        # says the token comes from *your* load balancer.
        print("albauth: verify-token: note: --signer not given, so any load balancer's token using these "
              "keys verifies", file=sys.stderr)
    return verified


def _check_pinned(token: AlbToken, claim: str, expected: str | None, what: str) -> None:
    if expected is None:
        return
    if token.header.get(claim) != expected:
        raise _Failed(f"{what} {token.header.get(claim)!r} is not {expected!r}")
    # The payload carries iss too: both must agree (ALB writes the same value in each).
    if claim == "iss" and token.claims.get("iss", expected) != expected:
        raise _Failed(f"the claims' iss {token.claims.get('iss')!r} is not {expected!r}")


def _read_key_file(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(_MAX_KEY_BYTES)
    except OSError as exc:
        raise _Failed(f"cannot read --key {path}: {exc.strerror or exc}", EXIT_USAGE) from None


def _fetch_key(base: str, kid: Any, timeout: float) -> bytes:
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise _Failed(f"the header's kid {kid!r} is not a UUID (ALB's kids are): not fetched")
    if "://" not in base:  # `public-keys.auth.elb.<region>.amazonaws.com`, as AWS's docs write it
        base = f"https://{base}"
    if not base.startswith(("http://", "https://")):
        raise _Failed(f"--keys-url must be an http(s) URL (got {base!r})", EXIT_USAGE)
    url = f"{base.rstrip('/')}/{kid}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - http(s) only, checked above
            return _read_limited(resp)
    except urllib.error.HTTPError as exc:
        raise _Failed(f"GET {url} answered {exc.code}" + (": no such kid there" if exc.code == 404 else "")
                      ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Failed(f"cannot fetch the key from {url}: {reason}") from None


def _read_limited(resp: Any) -> bytes:
    body: bytes = resp.read(_MAX_KEY_BYTES + 1)
    if len(body) > _MAX_KEY_BYTES:
        raise _Failed("the key endpoint answered more than a PEM public key")
    return body
