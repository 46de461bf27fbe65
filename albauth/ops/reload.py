"""The operator's handles on a running `albauth serve`: SIGHUP (or, with `--watch`, a
change to the config file) reloads the configuration, SIGUSR1 reopens the access log
after logrotate moved it (nginx's signals for the same jobs).

A reload that fails (the file does not load, or changes what only a restart can) is
logged with every problem and changes nothing: the process keeps serving what it served.
The generation in force is on /readyz and in `albauth_config_generation`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from typing import Protocol

from albauth.config.errors import ConfigError
from albauth.config.model import Settings
from albauth.ops.metrics import Metrics

__all__ = ["Operations", "Reloadable"]

log = logging.getLogger("albauth")

WATCH_INTERVAL = 1.0  # seconds between looks at the config file


class Reloadable(Protocol):
    metrics: Metrics

    def reload(self, settings: Settings) -> list[str]: ...

    def reopen_logs(self) -> None: ...


class Operations:
    """Installs the signal handlers (and the file watch) for one running process."""

    def __init__(self, runtime: Reloadable, load: Callable[[], Settings], *, watch: str | None = None,
                 watch_interval: float = WATCH_INTERVAL) -> None:
        self.runtime = runtime
        self.load = load
        self.watch = watch
        self.watch_interval = watch_interval
        self._lock = asyncio.Lock()  # one reload at a time, in the order asked
        self._tasks: set[asyncio.Task[bool]] = set()
        self._watcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self._reload_soon, "SIGHUP")
        loop.add_signal_handler(signal.SIGUSR1, self.runtime.reopen_logs)
        if self.watch is not None:
            self._watcher = loop.create_task(self._watch(self.watch))

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGUSR1):
            loop.remove_signal_handler(sig)
        if self._watcher is not None:
            self._watcher.cancel()

    def _reload_soon(self, why: str) -> None:
        task = asyncio.get_running_loop().create_task(self.reload(why))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reload(self, why: str) -> bool:
        async with self._lock:
            log.info("reloading the configuration (%s)", why)
            try:
                # Reading and checking the file happens in a thread: the event loop keeps serving.
                settings = await asyncio.to_thread(self.load)
                problems = self.runtime.reload(settings)
            except ConfigError as exc:
                problems = [str(issue) for issue in exc.issues]
            metrics = self.runtime.metrics
            if problems:
                for problem in problems:
                    log.error("reload rejected: %s", problem)
                log.error("reload rejected (%d problem(s)): still serving the previous configuration",
                          len(problems))
                metrics.config_reloads.labels("rejected").inc()
                return False
            metrics.config_reloads.labels("applied").inc()
            log.info("configuration reloaded: generation %d", int(metrics.value("albauth_config_generation")))
            return True

    async def _watch(self, path: str) -> None:
        last = _stamp(path)
        while True:
            await asyncio.sleep(self.watch_interval)
            now = _stamp(path)
            if now != last and now is not None:
                last = now
                await self.reload(f"{path} changed")


def _stamp(path: str) -> tuple[int, int, int] | None:
    """What changes when a file is rewritten in place or replaced by a rename."""
    try:
        st = os.stat(path)
    except OSError:
        return None  # being replaced: look again next time
    return (st.st_ino, st.st_mtime_ns, st.st_size)
