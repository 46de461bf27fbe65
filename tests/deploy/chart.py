"""Renders deploy/helm/albauth offline with helm-python-sdk (Helm's own Go engine, embedded:
no helm binary, no cluster) and reads what albauth's container would get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import yaml

from tests.deploy.manifests import DEPLOY, Manifest, containers, documents, find

CHART = DEPLOY / "helm" / "albauth"
# What the Secrets the chart refers to hold, for reading the container's environment.
SECRET_VALUES = {"oidc-client-secret": "client-secret", "session-secret": "s" * 32, "signing.pem": "-"}


def ci_values(name: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART / "ci" / f"{name}-values.yaml").read_text())
    return values


def render(values: dict[str, Any], release: str = "demo", namespace: str = "web") -> list[Manifest]:
    with helm_python.Chart.load(CHART) as chart:
        files = chart.render(values, name=release, namespace=namespace)
    return [doc for path, text in sorted(files.items()) if path.endswith(".yaml") for doc in documents(text)]


def albauth_env(rendered: list[Manifest]) -> dict[str, str]:
    """The albauth container's environment, secretKeyRefs read from SECRET_VALUES."""
    env = {}
    for var in containers(find(rendered, "Deployment"))["albauth"]["env"]:
        if "value" in var:
            env[var["name"]] = str(var["value"])
        else:
            env[var["name"]] = SECRET_VALUES[var["valueFrom"]["secretKeyRef"]["key"]]
    return env


def chart_files() -> list[Path]:
    return sorted(p for p in CHART.rglob("*") if p.is_file())
