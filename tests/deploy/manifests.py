"""Offline checks of Kubernetes manifests: schema validation with kubernetes-validate (its
schemas are bundled, so no cluster and no network) and Kustomize rendering with kubectl's
embedded kustomize when kubectl is installed."""

from __future__ import annotations

import copy
import functools
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# The newest Kubernetes release whose schemas kubernetes-validate bundles.
KUBERNETES_VERSION: str = kubernetes_validate.latest_version()

Manifest = dict[str, Any]


def documents(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def validate(manifests: Iterable[Manifest]) -> list[str]:
    """Schema problems of each manifest, strict (unknown fields are errors); [] when all pass."""
    problems = []
    for doc in manifests:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}: {error.message} "
                            f"at {list(error.path)}")
    return problems


def kustomize(directory: Path) -> list[Manifest]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its embedded kustomize) is not installed: overlays are checked file by file only")
    return copy.deepcopy(_rendered(kubectl, directory))


@functools.cache
def _rendered(kubectl: str, directory: Path) -> list[Manifest]:
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return documents(result.stdout)


def find(manifests: Iterable[Manifest], kind: str, name: str | None = None) -> Manifest:
    matches = [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(matches) == 1, (kind, name, [m["metadata"]["name"] for m in matches])
    return matches[0]


def containers(deployment: Manifest) -> dict[str, Manifest]:
    return {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}


def yaml_files(directory: Path) -> Iterator[Path]:
    yield from sorted(directory.rglob("*.yaml"))
