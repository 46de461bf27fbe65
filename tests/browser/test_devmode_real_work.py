"""`albauth dev` for real work: keys that survive a restart (--state-dir), the ALBAUTH_*
variables it honours, the signer ARN it prints, and --listen 0.0.0.0 inside a container."""

from __future__ import annotations

import argparse
import asyncio
import io
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from albauth.devmode import DevOptions, DevStack, exposure_warning, run_dev
from albauth.devmode_options import add_arguments, default_state_dir


def parse(argv: list[str], env: Mapping[str, str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser, env or {})
    ports = ["--port", str(unused_port()), "--idp-port", str(unused_port()), "--app-port", str(unused_port()),
             "--admin-port", str(unused_port())]
    return parser.parse_args([*ports, *argv])


async def published_kids(stack: DevStack) -> tuple[list[str], list[str]]:
    """The kids albauth's key endpoint and the provider's JWKS publish."""
    async with aiohttp.ClientSession() as http:
        alb = await (await http.get(f"{stack.key_endpoint}/.well-known/jwks.json")).json()
        meta = await (await http.get(f"{stack.issuer}/.well-known/openid-configuration")).json()
        idp = await (await http.get(meta["jwks_uri"])).json()
    return [k["kid"] for k in alb["keys"]], [k["kid"] for k in idp["keys"]]


async def run_once(opts: DevOptions) -> tuple[list[str], list[str]]:
    stack = DevStack(opts)
    await stack.start()
    try:
        return await published_kids(stack)
    finally:
        await stack.stop()


@pytest.mark.parametrize("cognito", [[], ["--cognito"]])
async def test_two_stacks_with_the_same_state_dir_publish_the_same_kids(tmp_path: Path, cognito: list[str]) -> None:
    state = tmp_path / "state"
    first = await run_once(DevOptions.from_args(parse(["--state-dir", str(state), *cognito]), {}))
    second = await run_once(DevOptions.from_args(parse(["--state-dir", str(state), *cognito]), {}))
    assert first == second and all(first)
    elsewhere = await run_once(DevOptions.from_args(parse(["--state-dir", str(tmp_path / "other"), *cognito]), {}))
    assert set(elsewhere[0]).isdisjoint(first[0]) and set(elsewhere[1]).isdisjoint(first[1])
    # Private keys: only the user may read them.
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for key_file in state.iterdir():
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, key_file


def test_the_state_dir_defaults_to_xdg_state_home() -> None:
    assert default_state_dir({"XDG_STATE_HOME": "/x/state"}) == "/x/state/albauth"
    assert default_state_dir({}) == str(Path.home() / ".local" / "state" / "albauth")
    assert parse([], {"XDG_STATE_HOME": "/x/state"}).state_dir == "/x/state/albauth"


MY_ARN = "arn:aws:elasticloadbalancing:eu-west-1:210987654321:loadbalancer/app/mine/0123456789abcdef"
ENV = {"ALBAUTH_SIGNER_ARN": MY_ARN,
       "ALBAUTH_SESSION_COOKIE_NAME": "MyAppCookie", "ALBAUTH_JWT_ENCODING": "standard",
       "ALBAUTH_UPSTREAM": "http://127.0.0.1:3000", "ALBAUTH_SESSION_TIMEOUT": "900",
       "ALBAUTH_SIGNING_KEY_FILE": "/tmp/albauth-dev-test-key.pem",
       # Not for dev mode: the stack is its own provider and store.
       "ALBAUTH_OIDC_ISSUER": "https://elsewhere.example", "ALBAUTH_SESSION_STORE": "redis://127.0.0.1:1"}


def test_the_albauth_variables_that_make_sense_in_dev_mode_are_honoured() -> None:
    settings = DevStack(DevOptions.from_args(parse([], ENV), ENV)).settings
    assert settings.signing.signer_arn == ENV["ALBAUTH_SIGNER_ARN"]
    assert settings.signing.encoding == "standard"
    assert settings.signing.key_file == "/tmp/albauth-dev-test-key.pem"
    assert settings.target_groups["app"].targets == ("http://127.0.0.1:3000",)
    auth = settings.listeners[0].rules[-1].authenticate
    assert auth is not None
    assert (auth.session_cookie_name, auth.session_timeout) == ("MyAppCookie", 900)
    assert auth.issuer.startswith("http://127.0.0.1:") and settings.session.store == "memory"


def test_a_flag_wins_over_its_variable() -> None:
    args = parse(["--upstream", "http://127.0.0.1:4000", "--session-timeout", "60"], ENV)
    assert (args.upstream, args.session_timeout) == ("http://127.0.0.1:4000", 60)


async def test_the_banner_prints_the_signer_arn_apps_must_pin() -> None:
    args = parse([], {"ALBAUTH_SIGNER_ARN": ENV["ALBAUTH_SIGNER_ARN"]})
    stop, out = asyncio.Event(), io.StringIO()
    task = asyncio.ensure_future(_run_dev(args, stop, out, {"ALBAUTH_SIGNER_ARN": ENV["ALBAUTH_SIGNER_ARN"]}))
    await _until_printed(out)
    assert f"Signer      {ENV['ALBAUTH_SIGNER_ARN']}" in out.getvalue()
    stop.set()
    await asyncio.wait_for(task, 5)


async def _run_dev(args: argparse.Namespace, stop: asyncio.Event, out: io.StringIO,
                   env: Mapping[str, str]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        await run_dev(args, stop, out=out)


async def _until_printed(out: io.StringIO) -> None:
    for _ in range(200):
        if "Ctrl+C" in out.getvalue():
            return
        await asyncio.sleep(0.02)
    pytest.fail("no banner")


async def test_listen_0000_binds_every_interface_keeps_local_development_and_warns(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(["--listen", "0.0.0.0"])
    opts = DevOptions.from_args(args, {})
    stack = DevStack(opts)
    (listener,) = stack.settings.listeners
    assert (listener.address, listener.local_development) == ("0.0.0.0", True)
    warning = exposure_warning(opts)
    assert warning is not None and "0.0.0.0" in warning and "development only" in warning
    assert exposure_warning(DevOptions.from_args(parse([]), {})) is None
    await stack.start()
    try:
        assert stack.runtime is not None
        async with aiohttp.ClientSession() as http:
            reply = await http.get(stack.url, allow_redirects=False)
            assert reply.status == 302  # to the provider, on the advertised 127.0.0.1 address
            assert reply.headers["Location"].startswith(f"http://127.0.0.1:{opts.idp_port}/")
        bound = _bound_addresses(stack)
        assert ("0.0.0.0", opts.port) in bound and ("0.0.0.0", opts.idp_port) in bound
    finally:
        await stack.stop()
    stop, out = asyncio.Event(), io.StringIO()
    task = asyncio.ensure_future(run_dev(parse(["--listen", "0.0.0.0"]), stop, out=out))
    await _until_printed(out)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert "WARNING: listening on 0.0.0.0" in capsys.readouterr().err


def _bound_addresses(stack: DevStack) -> set[tuple[str, int]]:
    """What the provider and albauth's listener really bound (from their sockets)."""
    found: set[tuple[str, int]] = set()
    runners: list[Any] = list(stack._runners)
    assert stack.runtime is not None
    runners += list(getattr(stack.runtime, "_runners", []))
    for runner in runners:
        for site in runner.sites:
            server = getattr(site, "_server", None)
            for sock in getattr(server, "sockets", None) or []:
                host, port = sock.getsockname()[:2]
                found.add((host, port))
    return found


async def test_dev_as_a_user_skips_the_sign_in_and_signs_that_user(tmp_path: Path) -> None:
    """`albauth dev --as bob`: an app's own tests run against ALB-signed headers, no provider."""
    stack = DevStack(DevOptions.from_args(parse(["--as", "bob", "--state-dir", str(tmp_path)]), {}))
    await stack.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(stack.url, allow_redirects=False) as resp:
                page = await resp.text()
            assert resp.status == 200 and "bob" in page
            async with http.get(stack.url, headers={"X-Albauth-Dev-User": "carol"}) as resp:
                assert resp.status == 200 and "carol" in await resp.text()
            async with http.get(stack.url, headers={"X-Albauth-Dev-User": "mallory"}) as resp:
                assert resp.status == 401
        assert not stack.idp.events  # the provider was never asked
    finally:
        await stack.stop()


def test_dev_as_an_unknown_user_names_the_users_there_are() -> None:
    from albauth.config.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        DevStack(DevOptions.from_args(parse(["--as", "mallory"]), {}))
    assert "alice" in str(caught.value.issues[0])


async def test_an_unwritable_state_dir_falls_back_to_keys_of_this_run(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """In a container the home may not exist or the root be read-only: dev mode still runs."""
    (tmp_path / "a-file").write_text("")
    opts = DevOptions.from_args(parse(["--state-dir", str(tmp_path / "a-file" / "state")]), {})
    kids = await run_once(opts)
    assert all(kids)
    assert "cannot keep keys in" in caplog.text
