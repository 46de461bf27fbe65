"""`albauth sessions list|revoke` and `albauth keys rotate|list`: operator commands on the
Redis store, and how their answers are printed (never a claim or a token)."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import sys
import time

from albauth.session.redis_admin import list_sessions
from albauth.session.redis_store import RedisSessionStore, SessionStoreUnavailable
from albauth.session.sealing import Sealer, generate_secret
from albauth.signing.shared_keys import ROTATION_DELAY, key_sealer, load_keys, ring_at, rotate

__all__ = ["EXIT_CONFIG", "run_redis_command"]

EXIT_CONFIG = 2


def run_redis_command(args: argparse.Namespace) -> int:
    if not args.redis:
        print("albauth: --redis URL is required (or ALBAUTH_SESSION_STORE=redis://...)", file=sys.stderr)
        return EXIT_CONFIG
    secrets: list[str] = []
    if args.command == "keys":
        secrets = args.secret or [s.strip() for s in os.environ.get("ALBAUTH_SESSION_SECRET", "").split(",")
                                  if s.strip()]
        if not secrets:
            print("albauth: the session secret(s) are required (--secret, or ALBAUTH_SESSION_SECRET): "
                  "the keys in Redis are sealed with them", file=sys.stderr)
            return EXIT_CONFIG
    try:
        # Listing and revoking never open a ticket: any sealer will do.
        store = RedisSessionStore.from_url(args.redis, sealer=Sealer([generate_secret()], "unused"),
                                           key_prefix=args.prefix)
    except ValueError as exc:
        print(f"albauth: --redis: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    async def run() -> int:
        try:
            if args.command == "sessions":
                return await (_sessions_list if args.action == "list" else _sessions_revoke)(store, args)
            return await (_keys_rotate if args.action == "rotate" else _keys_list)(store, args, secrets)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except SessionStoreUnavailable as exc:
        print(f"albauth: {exc}", file=sys.stderr)
        return 1


def _when(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _sessions_list(store: RedisSessionStore, args: argparse.Namespace) -> int:
    records = await list_sessions(store, sub=args.sub)
    print(f"{'sid':<24} {'binding':<26} {'authenticated':<20} {'expires':<20} {'ttl':>8} sub-digest")
    for r in records:
        print(f"{r.sid:<24} {r.binding:<26} {_when(r.authenticated_at):<20} {_when(r.expires_at):<20} "
              f"{r.ttl:>8} {r.sub_digest}")
    print(f"{len(records)} session(s)")
    return 0


async def _sessions_revoke(store: RedisSessionStore, args: argparse.Namespace) -> int:
    count = await store.revoke(sub=args.sub, sid=args.sid, idp_sid=args.idp_sid)
    print(f"revoked {count} session(s)")
    return 0


async def _keys_rotate(store: RedisSessionStore, args: argparse.Namespace, secrets: list[str]) -> int:
    delay = ROTATION_DELAY if args.delay is None else args.delay
    kid, active_from, gone = await rotate(store, key_sealer(secrets), delay=delay)
    print(f"published {kid}; it signs from {_when(active_from)} (in {delay:g} s), once every replica "
          "serves it")
    for old in gone:
        print(f"deleted retired key {old}")
    return 0


async def _keys_list(store: RedisSessionStore, args: argparse.Namespace, secrets: list[str]) -> int:
    stored = await load_keys(store, key_sealer(secrets))
    if not stored:
        print("no shared signing keys (a replica creates the first one when it starts)")
        return 0
    ring = ring_at(stored, time.time())
    for s in sorted(stored, key=lambda s: s.active_from):
        state = ("signing" if s.key.kid == ring.current.kid else
                 "served" if s.key.kid in ring.kids else "retired")
        print(f"{s.key.kid}  signs from {_when(s.active_from)}  {state}")
    return 0
