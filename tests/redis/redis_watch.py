"""Looking at a private redis-server from the side, as an operator would: MONITOR (every
command it runs, from every client) and the keys of the one session a test logged in."""

from __future__ import annotations

import asyncio
from types import TracebackType

import redis

from tests.session.redis_fixtures import RedisServer


class Monitor:
    """`MONITOR` on its own connection: `lines` fills with one line per command the server
    runs (`+<time> [<db> <client>] "SET" "key" ...`), until the block ends."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.lines: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Monitor:
        reader, self._writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        self._writer.write(b"MONITOR\r\n")
        assert (await reader.readline()).startswith(b"+OK")
        self._task = asyncio.create_task(self._read(reader))
        return self

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            self.lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.sleep(0.05)  # let the last lines arrive
        assert self._task is not None and self._writer is not None
        self._task.cancel()
        self._writer.close()

    def commands(self, name: str, key_part: str = "") -> list[str]:
        """Lines of command `name` (SET, GET, ...) whose text contains `key_part`."""
        return [line for line in self.lines
                if f'] "{name.upper()}"' in line.upper() and key_part in line]


def only_sid(server: RedisServer, prefix: str = "albauth:") -> str:
    with redis.Redis(port=server.port) as direct:
        keys: list[bytes] = direct.keys(f"{prefix}session:*")
    assert len(keys) == 1, keys
    return keys[0].decode()[len(f"{prefix}session:"):]


def lock_key(sid: str, prefix: str = "albauth:") -> str:
    return f"{prefix}refresh:{sid}"
