"""`albauth dev` without a browser: the settings it builds (through the config loader),
the one-line errors for taken ports, the banner, and a clean stop."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import socket

import pytest
from aiohttp.test_utils import unused_port

from albauth.config.model import FixedResponseAction, ForwardAction, PathPatternCondition
from albauth.devmode import SIGNED_OUT_PATH, DevOptions, DevStack, PortUnavailable, run_dev


def free_options(**overrides: object) -> DevOptions:
    ports = {"port": unused_port(), "idp_port": unused_port(), "app_port": unused_port(),
             "admin_port": unused_port()}
    return DevOptions(**{**ports, **overrides})  # type: ignore[arg-type]


def test_one_authenticate_default_rule_and_an_open_signed_out_rule() -> None:
    opts = free_options(session_timeout=3600)
    settings = DevStack(opts).settings
    (listener,) = settings.listeners
    assert (listener.protocol, listener.address, listener.port) == ("HTTP", "127.0.0.1", opts.port)
    assert listener.local_development
    signed_out, default = listener.rules
    assert signed_out.priority == 1 and signed_out.authenticate is None
    assert signed_out.conditions == (PathPatternCondition((SIGNED_OUT_PATH,)),)
    assert isinstance(signed_out.action, ForwardAction)
    auth = default.authenticate
    assert default.priority is None and auth is not None
    assert (auth.issuer, auth.client_id, auth.scope, auth.session_timeout) == (
        f"http://127.0.0.1:{opts.idp_port}", "albauth-dev", "openid email profile", 3600)
    assert settings.session.store == "memory" and settings.signing.key_file is None
    assert settings.admin_listen == ("127.0.0.1", opts.admin_port)
    assert settings.target_groups["app"].targets == (f"http://127.0.0.1:{opts.app_port}",)


def test_with_upstream_the_app_is_yours_and_signed_out_is_a_fixed_response() -> None:
    settings = DevStack(free_options(upstream="http://127.0.0.1:3000")).settings
    assert settings.target_groups["app"].targets == ("http://127.0.0.1:3000",)
    assert isinstance(settings.listeners[0].rules[0].action, FixedResponseAction)


@pytest.mark.parametrize(("field", "flag"), [("port", "--port"), ("idp_port", "--idp-port"),
                                              ("app_port", "--app-port"), ("admin_port", "--admin-port")])
async def test_a_taken_port_names_the_port_and_the_flag(field: str, flag: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = DevStack(free_options(**{field: port}))
        with pytest.raises(PortUnavailable) as info:
            await stack.start()
    message = str(info.value)
    assert f"port {port} " in message and message.endswith(f"choose another with {flag} <port>")
    assert "\n" not in message and stack.runtime is None


async def test_the_same_port_twice_is_refused() -> None:
    opts = free_options()
    with pytest.raises(PortUnavailable, match="--idp-port and --port are both"):
        await DevStack(DevOptions(port=opts.idp_port, idp_port=opts.idp_port, app_port=opts.app_port,
                                  admin_port=opts.admin_port)).start()


async def test_run_dev_prints_the_banner_and_stops_cleanly() -> None:
    opts = free_options()
    args = argparse.Namespace(port=opts.port, idp_port=opts.idp_port, app_port=opts.app_port,
                              admin_port=opts.admin_port, users=None, upstream=None, session_timeout=604800)
    stop, out = asyncio.Event(), io.StringIO()
    task = asyncio.ensure_future(run_dev(args, stop, out=out))
    for _ in range(100):
        if "Ctrl+C" in out.getvalue():
            break
        await asyncio.sleep(0.02)
    banner = out.getvalue()
    assert f"http://127.0.0.1:{opts.port}/" in banner
    assert f"http://127.0.0.1:{opts.idp_port}" in banner
    assert f"http://127.0.0.1:{opts.admin_port}/" in banner
    for user in ("alice", "bob", "carol"):
        assert re.search(rf"\b{user} +password {user}\b", banner)
    stop.set()
    await asyncio.wait_for(task, 5)
    with socket.socket() as again:  # every port is free again
        again.bind(("127.0.0.1", opts.port))
