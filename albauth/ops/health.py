"""Readiness: can this process serve logins right now? Each check is a name and a call that
raises when the answer is no; `/readyz` runs them all (concurrently, each bounded by a
timeout) and answers 200 or 503 with every check's result, so an orchestrator's probe and
the operator reading it both see which one failed.

Liveness (`/healthz`) runs no check: a process that answers is alive, and restarting it
because Redis is down would not bring Redis back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Check", "Readiness", "ReadinessReport"]

Check = tuple[str, Callable[[], Awaitable[object]]]


@dataclass(frozen=True)
class ReadinessReport:
    ready: bool
    body: dict[str, Any]


class Readiness:
    def __init__(self, checks: Callable[[], Sequence[Check]], generation: Callable[[], int],
                 timeout: float = 3.0) -> None:
        self.checks = checks  # asked per probe: a reload changes what there is to check
        self.generation = generation
        self.timeout = timeout

    async def report(self) -> ReadinessReport:
        checks = list(self.checks())
        results = await asyncio.gather(*(self._run(call) for _, call in checks))
        outcome = {name: result for (name, _), result in zip(checks, results, strict=True)}
        failed = [name for name, result in outcome.items() if result != "ok"]
        body = {"status": "not ready" if failed else "ready", "generation": self.generation(),
                "checks": outcome, "failed": failed}
        return ReadinessReport(not failed, body)

    async def _run(self, call: Callable[[], Awaitable[object]]) -> str:
        try:
            await asyncio.wait_for(call(), self.timeout)
        except TimeoutError:
            return f"failed: no answer within {self.timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - any failure is a "not ready", reported by type
            detail = str(exc).splitlines()[0][:200] if str(exc) else ""
            return f"failed: {type(exc).__name__}" + (f": {detail}" if detail else "")
        return "ok"
