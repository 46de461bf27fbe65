"""Settings and oracles shared by the fuzz tests."""

from __future__ import annotations

import asyncio
import os
import ssl
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings

from tests.alb.conftest import Upstream

DEEP_EXAMPLES = 1000
IDENTITY_PREFIX = "x-amzn-oidc-"


def fuzz_settings(examples: int) -> settings:
    """`examples` in the default run; ALBAUTH_FUZZ_EXAMPLES or the deep profile for more.

    Read at import, after the pytest plugin has loaded the profile given on the command line."""
    wanted = os.environ.get("ALBAUTH_FUZZ_EXAMPLES")
    if wanted:
        examples = int(wanted)
    elif settings.get_current_profile_name() == "deep":
        examples = settings.get_profile("deep").max_examples
    # The servers live for the whole test (function-scoped fixtures on purpose: one albauth
    # for all examples); timing is the network's, so no deadline.
    return settings(max_examples=examples, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


class Forwarded:
    """What reached the upstream during one example."""

    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream
        self._before = len(upstream.seen)

    @property
    def records(self) -> list[dict[str, Any]]:
        return self._upstream.seen[self._before:]


def identity_headers(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in record["headers"] if k.lower().replace("_", "-").startswith(IDENTITY_PREFIX)]


def header_value(record: dict[str, Any], name: str) -> str | None:
    return next((v for k, v in record["headers"] if k.lower() == name), None)


_NO_VERIFY = ssl.create_default_context()
_NO_VERIFY.check_hostname = False
_NO_VERIFY.verify_mode = ssl.CERT_NONE


@dataclass
class RawReply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]


async def raw_exchange(port: int, head: bytes, *, tls: bool = True, timeout: float = 10.0) -> RawReply | None:
    """Send a request head exactly as given (Connection: close is added by the caller) and
    read one response; None when albauth closed the connection without answering."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=_NO_VERIFY if tls else None,
                                                   server_hostname="app.test" if tls else None)
    try:
        writer.write(head)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(-1), timeout)
    except (ConnectionResetError, ssl.SSLError):
        return None
    finally:
        writer.close()
    if not data:
        return None
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    return RawReply(int(lines[0].split()[1]), headers, body)
