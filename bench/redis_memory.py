"""Redis memory per live session: N sessions saved through the Redis store into a private
redis-server, `INFO memory` before and after, then what is left once they have ended.

    bench/redis_memory.py [--sessions 100000] [--token-bytes 1200]

Each session is a distinct user with an IdP session id (one entry and two index sets per
session: the worst case for the indexes), an access token of --token-bytes (a JWT-sized
random string), a 400-byte refresh token and a handful of claims.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from albauth.session.cookies import CookiePolicy  # noqa: E402
from albauth.session.model import Session, binding_for  # noqa: E402
from albauth.session.redis_store import RedisSessionStore  # noqa: E402
from albauth.session.sealing import Sealer  # noqa: E402

SECRET = "bench-session-secret-0123456789-abcdefghijkl"


def token(size: int) -> str:
    return base64.urlsafe_b64encode(os.urandom(size)).decode()[:size]


def session(i: int, token_bytes: int, now: float, lifetime: float) -> Session:
    claims = {"sub": f"user-{i:08d}-4f1c0c8e", "email": f"user{i}@example.test", "name": f"User {i}",
              "email_verified": "true", "groups": ["staff", "eng"]}
    return Session(sid=Session.new_sid(), binding=binding_for("AWSELBAuthSessionCookie", "https://idp", "app"),
                   claims=claims, access_token=token(token_bytes), refresh_token=token(400),
                   access_token_expires_at=now + 3600, authenticated_at=now, expires_at=now + lifetime,
                   idp_sid=f"idp-{i}")


async def fill(url: str, count: int, token_bytes: int, lifetime: float) -> float:
    store = RedisSessionStore.from_url(url, sealer=Sealer((SECRET,), "albauth session"), key_prefix="albauth:")
    policy, now, started = CookiePolicy(), time.time(), time.monotonic()
    batch = 48
    for first in range(0, count, batch):
        await asyncio.gather(*(store.save(session(i, token_bytes, now, lifetime), "AWSELBAuthSessionCookie",
                                          {}, policy, now) for i in range(first, min(count, first + batch))))
    await store.close()
    return time.monotonic() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--token-bytes", type=int, default=1200)
    ap.add_argument("--ending", type=int, default=1000,
                    help="then this many sessions with a 3 s SessionTimeout: what is left once they ended")
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="albauth-bench-redis-")
    server = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
                              stdout=subprocess.DEVNULL)
    try:
        direct = redis.Redis(port=port)
        for _ in range(100):
            try:
                direct.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        before = int(direct.info("memory")["used_memory"])
        url = f"redis://127.0.0.1:{port}/0?socket_timeout=10"
        took = asyncio.run(fill(url, args.sessions, args.token_bytes, 86400.0))
        after = int(direct.info("memory")["used_memory"])
        keys = direct.dbsize()
        per = (after - before) / args.sessions
        print(f"redis-server {direct.info('server')['redis_version']}, {args.sessions} live sessions "
              f"(access token {args.token_bytes} B), saved in {took:.1f} s")
        print(f"keys: {keys} ({keys / args.sessions:.1f} per session)")
        print(f"used_memory: {before / 2**20:.1f} MiB empty, {after / 2**20:.1f} MiB with the sessions")
        print(f"bytes per live session: {per:.0f}; for 100,000 sessions: {per * 100_000 / 2**20:.0f} MiB")
        direct.flushall()
        asyncio.run(fill(url, args.ending, args.token_bytes, 3.0))
        filled = direct.dbsize()
        time.sleep(4.0)
        print(f"{args.ending} sessions with SessionTimeout 3 s: {filled} keys, 4 s later {direct.dbsize()} keys, "
              f"used_memory {int(direct.info('memory')['used_memory']) / 2**20:.1f} MiB")
        direct.close()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
