"""`albauth keys generate FILE` and `albauth keys show FILE`: the signing-key file
(`albauth.signing.key_file`, ALBAUTH_SIGNING_KEY_FILE) without Redis and without a server.

`show` prints the kid the admin listener will publish at `GET /<kid>` (as ALB's
`public-keys.auth.elb.<region>.amazonaws.com/<kid>` does) and its public PEM, so an operator
can pin or pre-publish it before the first start. `keys rotate|list` work on the ring shared
through Redis (albauth.ops.redis_commands) and are untouched by these."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

from albauth.signing.keyring import KeyRing, KeyRingError, SigningKey

__all__ = ["register_keys_file_commands"]

EXIT_FAILED = 1

_GENERATE_EPILOG = """\
examples:
  albauth keys generate /var/lib/albauth/signing.pem
  albauth keys generate --rotate /var/lib/albauth/signing.pem   # new key first; old ones still served

The first key in the file signs x-amzn-oidc-data; every key in it is served by kid, so tokens
signed before a rotation keep verifying. The file is written with mode 0600.
exit status: 0 written, 1 the file exists (without --rotate) or cannot be written, 2 usage error"""

_SHOW_EPILOG = """\
examples:
  albauth keys show /var/lib/albauth/signing.pem
  curl http://127.0.0.1:9901/$(albauth keys show --kid-only /var/lib/albauth/signing.pem)

exit status: 0 shown, 1 the file is missing or holds no usable P-256 key, 2 usage error"""


def register_keys_file_commands(keys_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `generate` and `show` under `albauth keys` (call after the Redis commands' options
    are added: these take a FILE, not --redis)."""
    generate = keys_sub.add_parser(
        "generate", help="create a signing-key file (P-256 PEM) for albauth.signing.key_file",
        epilog=_GENERATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    generate.add_argument("file", metavar="FILE")
    generate.add_argument("--rotate", action="store_true",
                          help="the file exists: put a new key first (it signs); the old ones stay served")
    generate.set_defaults(run=_generate)
    show = keys_sub.add_parser(
        "show", help="the kid a signing-key file publishes, and its public PEM",
        epilog=_SHOW_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("file", metavar="FILE")
    show.add_argument("--kid-only", action="store_true", help="print only the signing kid")
    show.set_defaults(run=_show)


def _generate(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        if not path.exists():
            ring = KeyRing.load_or_create(path)
        elif args.rotate:
            ring = _prepend_new_key(path)
        else:
            print(f"albauth: {path} exists (give --rotate to put a new key first, or "
                  f"`albauth keys show {path}`)", file=sys.stderr)
            return EXIT_FAILED
    except KeyRingError as exc:
        print(f"albauth: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{path}: kid {ring.current.kid} signs; {len(ring.kids)} key(s) served")
    return 0


def _prepend_new_key(path: Path) -> KeyRing:
    """The new key first (it signs), the old ones after it: albauth serves every key in the
    file, so tokens the old key signed still verify until they expire (120 s)."""
    old = KeyRing.from_pem_files([path])  # refuse to rotate a file that is not a key file
    new = SigningKey.generate()
    data = new.private_pem() + path.read_bytes()
    # Replace atomically, so a replica (re)starting meanwhile reads the old file or the new one.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise KeyRingError(f"cannot write key file: {exc.strerror or exc}", path) from exc
    return KeyRing([new, *(k for kid in old.kids if (k := old.get(kid)) is not None)])


def _show(args: argparse.Namespace) -> int:
    try:
        # from_pem_files, not load_or_create: showing must never create a key.
        ring = KeyRing.from_pem_files([args.file])
    except KeyRingError as exc:
        print(f"albauth: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.kid_only:
        print(ring.current.kid)
        return 0
    for kid in ring.kids:
        key = ring.get(kid)
        assert key is not None
        role = "signs" if kid == ring.current.kid else "served (verifies older tokens)"
        print(f"kid: {kid}  {role}")
        print(key.public_pem().decode("ascii"), end="")
    return 0
