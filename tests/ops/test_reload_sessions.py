"""What a reload keeps and what it renews: sessions (even in the memory store) and logins
under way survive it; the signing keys are read again."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml

from albauth.config.load import load_text
from albauth.config.model import Settings
from tests.alb.conftest import Alb, StartAlb, Upstream, header

MEMORY = {"session": {"store": "memory", "secrets": ["m" * 40]}}


def reloaded(alb: Alb, change: dict[str, Any] | None = None) -> Settings:
    doc = json.loads(json.dumps(alb.doc))
    doc["albauth"].update(change or {})
    return load_text(yaml.safe_dump(doc, sort_keys=False), "reloaded.yaml", {})


def signing_kid(record: dict[str, Any]) -> str:
    data = header(record, "x-amzn-oidc-data")
    assert data is not None
    head = data.split(".")[0]
    kid: str = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]
    return kid


async def test_a_memory_store_session_survives_a_reload(start_alb: StartAlb) -> None:
    alb = await start_alb(albauth=MEMORY)
    await alb.browser.login()
    assert alb.runtime.reload(reloaded(alb, MEMORY)) == []
    assert alb.runtime.generation.number == 2
    reply = await alb.browser.get("https://app.test/after-reload")
    assert reply.status == 200  # no new login


async def test_a_login_under_way_completes_across_a_reload(start_alb: StartAlb) -> None:
    alb = await start_alb(albauth=MEMORY)
    first = await alb.browser.get("https://app.test/")
    callback = await alb.browser.sign_in(first.location)
    assert alb.runtime.reload(reloaded(alb, MEMORY)) == []
    done = await alb.browser.get(callback)  # its state was sealed by the previous generation
    assert done.status == 302 and done.location == "https://app.test/"  # not a 401: the state opened


async def test_a_reload_reads_the_signing_key_file_again(start_alb: StartAlb, upstream: Upstream,
                                                         tmp_path: Path) -> None:
    alb = await start_alb()
    await alb.browser.login()
    old_kid = signing_kid(upstream.last)
    (tmp_path / "signing.pem").unlink()  # a new key is created where the old one was
    assert alb.runtime.reload(reloaded(alb)) == []
    await alb.browser.get("https://app.test/again")
    new_kid = signing_kid(upstream.last)
    assert new_kid != old_kid
    assert alb.runtime.keyring is not None and alb.runtime.keyring.current.kid == new_kid


async def test_a_reload_that_moves_a_listener_is_refused_and_changes_nothing(start_alb: StartAlb) -> None:
    alb = await start_alb(albauth=MEMORY)
    doc = json.loads(json.dumps(alb.doc))
    doc["listeners"][0]["Port"] = alb.port + 1
    problems = alb.runtime.reload(load_text(yaml.safe_dump(doc), "moved.yaml", {}))
    assert problems and "restart albauth" in problems[0]
    assert alb.runtime.generation.number == 1
