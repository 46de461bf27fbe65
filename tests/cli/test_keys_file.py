"""`albauth keys generate|show FILE`: the signing-key file, and the kid albauth then publishes."""

from __future__ import annotations

import stat
from pathlib import Path

import aiohttp

from tests.alb.conftest import StartAlb

from .helpers import albauth_cli, albauth_sync


def _shown_kid(file: Path) -> str:
    shown = albauth_sync("keys", "show", "--kid-only", str(file))
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip()


async def test_show_prints_the_kid_and_pem_the_admin_listener_publishes(start_alb: StartAlb,
                                                                        tmp_path: Path) -> None:
    key_file = tmp_path / "signing.pem"  # the file start_alb configures as signing.key_file
    generated = await albauth_cli("keys", "generate", str(key_file))
    assert generated.returncode == 0, generated.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    shown = await albauth_cli("keys", "show", str(key_file))
    assert shown.returncode == 0, shown.stderr
    kid = shown.stdout.split()[1]
    assert kid in generated.stdout and shown.stdout.splitlines()[0] == f"kid: {kid}  signs"
    alb = await start_alb()
    async with aiohttp.ClientSession() as http, http.get(f"{alb.admin}/{kid}") as resp:
        assert resp.status == 200
        published = await resp.text()
    assert published.startswith("-----BEGIN PUBLIC KEY-----")
    assert published in shown.stdout


def test_generate_refuses_an_existing_file_and_rotate_puts_a_new_key_first(tmp_path: Path) -> None:
    key_file = tmp_path / "k.pem"
    assert albauth_sync("keys", "generate", str(key_file)).returncode == 0
    first_kid, before = _shown_kid(key_file), key_file.read_bytes()
    again = albauth_sync("keys", "generate", str(key_file))
    assert again.returncode == 1 and len(again.stderr.strip().splitlines()) == 1
    assert "exists" in again.stderr and key_file.read_bytes() == before
    rotated = albauth_sync("keys", "generate", "--rotate", str(key_file))
    assert rotated.returncode == 0, rotated.stderr
    assert _shown_kid(key_file) != first_kid
    shown = albauth_sync("keys", "show", str(key_file)).stdout
    assert f"kid: {first_kid}  served" in shown
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_show_never_creates_a_file_and_says_why_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "none.pem"
    result = albauth_sync("keys", "show", str(missing))
    assert result.returncode == 1 and not missing.exists()
    assert result.stderr.count("\n") == 1 and "cannot read key file" in result.stderr
    not_a_key = tmp_path / "cert.pem"
    not_a_key.write_text("hello\n")
    result = albauth_sync("keys", "show", str(not_a_key))
    assert result.returncode == 1 and "no PEM private key" in result.stderr
    assert albauth_sync("keys", "generate", "--rotate", str(not_a_key)).returncode == 1
    assert not_a_key.read_text() == "hello\n"


def test_redis_key_commands_still_want_redis_and_help_shows_examples() -> None:
    listing = albauth_sync("keys", "list")
    assert listing.returncode == 2 and "--redis URL is required" in listing.stderr
    for command in ("generate", "show"):
        helped = albauth_sync("keys", command, "--help")
        assert helped.returncode == 0 and "examples:" in helped.stdout and "exit status" in helped.stdout
