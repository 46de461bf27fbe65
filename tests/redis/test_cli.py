"""`albauth sessions list|revoke` and `albauth keys rotate|list`, run as a user would (a
subprocess) against a private redis-server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from albauth.session import CookiePolicy, Session, SessionInvalid
from albauth.session.redis_store import RedisSessionStore
from albauth.signing.shared_keys import SharedKeyRing, key_sealer, load_keys
from tests.session.helpers import BINDING, NAME, SECRET, T0, apply, make_session
from tests.session.redis_fixtures import RedisServer

pytestmark = pytest.mark.usefixtures("shared")


def albauth(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ALBAUTH_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "albauth", *args], capture_output=True, text=True,
                          env=full_env, timeout=60)


# name -> (session, its cookie jar)
LoggedIn = dict[str, tuple[Session, dict[str, str]]]


@pytest.fixture
async def logged_in(store: RedisSessionStore) -> LoggedIn:
    """alice twice (one IdP session), bob once; name -> cookie jar."""
    sessions = {"alice-1": make_session(idp_sid="idp-1"), "alice-2": make_session(idp_sid="idp-1"),
                "bob": make_session(claims={"sub": "bob"}, idp_sid="idp-2")}
    return {name: (s, apply({}, await store.save(s, NAME, {}, CookiePolicy(), T0)))
            for name, s in sessions.items()}


async def alive(store: RedisSessionStore, logged_in: LoggedIn) -> list[str]:
    names: list[str] = []
    for name, (_, jar) in logged_in.items():
        try:
            await store.load(jar, NAME, BINDING)
            names.append(name)
        except SessionInvalid:
            pass
    return names


async def test_sessions_list_shows_every_session_or_one_users(store: RedisSessionStore, shared: RedisServer,
                                                              prefix: str, logged_in: LoggedIn) -> None:
    everyone = await asyncio.to_thread(albauth, "sessions", "list", "--redis", shared.url, "--prefix", prefix)
    assert everyone.returncode == 0, everyone.stderr
    assert everyone.stdout.strip().endswith("3 session(s)")
    for session, _ in logged_in.values():
        assert session.sid in everyone.stdout
    assert session.access_token not in everyone.stdout
    bob = await asyncio.to_thread(albauth, "sessions", "list", "--sub", "bob", "--redis", shared.url,
                                  "--prefix", prefix)
    assert bob.stdout.strip().endswith("1 session(s)")
    assert logged_in["bob"][0].sid in bob.stdout


@pytest.mark.parametrize(("selector", "count", "left"), [
    (("--sub", "2f1c0c8e-user"), 2, ["bob"]),
    (("--idp-sid", "idp-2"), 1, ["alice-1", "alice-2"]),
    (("--sid", None), 1, ["alice-2", "bob"]),
])
async def test_sessions_revoke_prints_how_many(store: RedisSessionStore, shared: RedisServer, prefix: str,
                                               logged_in: LoggedIn,
                                               selector: tuple[str, str | None], count: int, left: list[str]) -> None:
    flag, value = selector
    value = value or logged_in["alice-1"][0].sid
    done = await asyncio.to_thread(albauth, "sessions", "revoke", flag, value, "--redis", shared.url,
                                   "--prefix", prefix)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"revoked {count} session(s)"
    assert await alive(store, logged_in) == left


def test_sessions_revoke_needs_exactly_one_selector(shared: RedisServer) -> None:
    assert albauth("sessions", "revoke", "--redis", shared.url).returncode == 2


def test_an_unreachable_redis_is_reported_with_exit_1() -> None:
    done = albauth("sessions", "list", "--redis", "redis://127.0.0.1:1/0")
    assert done.returncode == 1
    assert "Redis" in done.stderr


async def test_keys_rotate_publishes_a_key_that_running_replicas_serve_then_sign_with(store: RedisSessionStore,
                                                                                      shared: RedisServer,
                                                                                      prefix: str) -> None:
    ring = SharedKeyRing(store, key_sealer([SECRET]), refresh_interval=0.05)
    first = (await ring.ready()).current.kid
    try:
        # A delay long enough that a busy machine's process start-up cannot eat it.
        done = await asyncio.to_thread(albauth, "keys", "rotate", "--delay", "4", "--redis", shared.url,
                                       "--prefix", prefix, env={"ALBAUTH_SESSION_SECRET": SECRET})
        assert done.returncode == 0, done.stderr
        new = done.stdout.split()[1].rstrip(";")
        for _ in range(40):  # the replica's next refresh (every 0.05 s) sees the new key
            if new in ring.kids:
                break
            await asyncio.sleep(0.05)
        assert ring.current.kid == first and new in ring.kids  # published, not yet signing
        for _ in range(200):
            if ring.current.kid == new:
                break
            await asyncio.sleep(0.05)
        assert ring.current.kid == new and first in ring.kids  # signing; the old one still served
        listed = await asyncio.to_thread(albauth, "keys", "list", "--redis", shared.url, "--prefix", prefix,
                                         "--secret", SECRET)
        assert f"{new}  signs from" in listed.stdout and "signing" in listed.stdout
    finally:
        await ring.close()


def test_keys_rotate_needs_the_session_secret(shared: RedisServer) -> None:
    done = albauth("keys", "rotate", "--redis", shared.url)
    assert done.returncode == 2
    assert "ALBAUTH_SESSION_SECRET" in done.stderr


async def test_keys_sealed_under_other_secrets_are_not_loaded(store: RedisSessionStore, shared: RedisServer,
                                                              prefix: str) -> None:
    other = "another-session-secret-0123456789-abcdefgh"
    done = await asyncio.to_thread(albauth, "keys", "rotate", "--redis", shared.url, "--prefix", prefix,
                                   "--secret", other)
    assert done.returncode == 0, done.stderr
    assert await load_keys(store, key_sealer([SECRET])) == []
    assert len(await load_keys(store, key_sealer([other]))) == 1
