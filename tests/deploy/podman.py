"""The smoke test's handle on podman: containers on the host's network (the machine has no
registry and a bridge network needs more setup than a smoke test should), each labelled so
that scripts/test-image removes whatever a failed run leaves behind."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

LABEL = "albauth-smoke"


def podman(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit {result.returncode}\n{result.stderr}{result.stdout}")
    return result


@dataclass
class Container:
    name: str

    @classmethod
    def run(cls, image: str, name: str, args: list[str], *, env: dict[str, str] | None = None,
            options: list[str] | None = None) -> Container:
        flags = ["--detach", "--name", name, "--label", LABEL, "--network", "host"]
        for key, value in (env or {}).items():
            flags += ["--env", f"{key}={value}"]
        podman("run", *flags, *(options or []), image, *args)
        return cls(name)

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return podman("exec", self.name, *command, check=False)

    def state(self, field: str) -> str:
        return podman("inspect", "--format", "{{.State." + field + "}}", self.name).stdout.strip()

    def wait_for(self, url: str, timeout: float = 30) -> None:
        """Until `url` answers 200; fails with the container's logs if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if self.state("Running") != "true":
                break
            time.sleep(0.2)
        raise AssertionError(f"{url} never answered 200; container logs:\n{self.logs()}")

    def remove(self) -> None:
        podman("rm", "--force", "--time", "0", self.name, check=False)
