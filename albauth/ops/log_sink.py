"""Where access-log lines go: stdout or a file, written in blocks rather than a write per
request, and reopened on demand so logrotate can move the file away (nginx's
`access_log ... buffer=64k flush=1s` and its USR1 reopen).

Lines wait at most `flush_after` seconds, or until `buffer_bytes` have gathered; a stop
writes out what is left."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TextIO

__all__ = ["LineSink"]

log = logging.getLogger("albauth")


class LineSink:
    def __init__(self, path: str | None, *, buffer_bytes: int = 64 * 1024, flush_after: float = 1.0) -> None:
        self.path = path  # None: stdout
        self.buffer_bytes = buffer_bytes
        self.flush_after = flush_after
        self._lines: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._file: TextIO = self._open()

    def _open(self) -> TextIO:
        if self.path is None:
            return sys.stdout
        return open(self.path, "a", encoding="utf-8", buffering=1024 * 1024)  # noqa: SIM115 - kept open

    def write(self, line: str) -> None:
        self._lines.append(line)
        self._size += len(line) + 1
        if self._size >= self.buffer_bytes:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._timer = loop.call_later(self.flush_after, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        text = "\n".join(self._lines) + "\n"
        self._lines.clear()
        self._size = 0
        try:
            self._file.write(text)
            self._file.flush()
        except (OSError, ValueError) as exc:  # a full disk must not stop the proxy
            log.warning("could not write the access log: %s", exc)

    def reopen(self) -> None:
        """After logrotate moved the file: write what is buffered, open the path anew."""
        self.flush()
        if self.path is None:
            return
        old = self._file
        try:
            self._file = self._open()
        except OSError as exc:
            log.warning("could not reopen the access log %s: %s; still writing to the old file", self.path, exc)
            return
        old.close()
        log.info("access log reopened: %s", self.path)

    def close(self) -> None:
        self.flush()
        if self.path is not None:
            self._file.close()
