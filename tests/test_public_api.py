"""Each albauth package's `__all__` is its public surface, as httpx holds its own: every name
listed exists, and every public name the package defines or imports is listed, so what a
package exports is a decision, not an accident of its imports. Modules that define
`__all__` list only names they have."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import albauth

ROOT = Path(albauth.__file__).parent
# Running `python -m albauth` is the CLI: importing `__main__` would start it.
NOT_IMPORTED = {"albauth.__main__"}


def _module_names() -> list[str]:
    names = ["albauth"]
    names += [m.name for m in pkgutil.walk_packages(albauth.__path__, "albauth.") if m.name not in NOT_IMPORTED]
    return sorted(names)


def _package_names() -> list[str]:
    return ["albauth"] + sorted(m.name for m in pkgutil.walk_packages(albauth.__path__, "albauth.") if m.ispkg)


def _init_file(package: ModuleType) -> Path:
    assert package.__file__ is not None
    return Path(package.__file__)


# Module hooks (PEP 562: `__getattr__` loads a lazily exported name), not names of the surface.
MODULE_HOOKS = {"__all__", "__getattr__", "__dir__"}


def _is_public(name: str) -> bool:
    """`_private` names are not; dunders a package sets (`__version__`) are, its hooks aside."""
    if name in MODULE_HOOKS:
        return False
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _top_level_names(tree: ast.Module) -> set[str]:
    """What a module defines or imports at its top level (also inside a top-level `if`/`try`)."""
    names: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Import):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.If, ast.Try)):
            pending += node.body + node.orelse
            pending += [s for h in getattr(node, "handlers", []) for s in h.body]
            pending += getattr(node, "finalbody", [])
    return names


def test_every_package_is_covered() -> None:
    # The packages the issue names; a new package joins by existing (`walk_packages`).
    assert {"albauth", "albauth.auth", "albauth.config", "albauth.demo", "albauth.devidp", "albauth.ops",
            "albauth.session", "albauth.signing", "albauth.upstream"} <= set(_package_names())


@pytest.mark.parametrize("name", _package_names())
def test_package_all_is_exactly_its_public_names(name: str) -> None:
    package = importlib.import_module(name)
    assert package.__doc__, f"{name}: a package says what it is in its docstring"
    exported = getattr(package, "__all__", None)
    assert isinstance(exported, list), f"{name} has no __all__ (use `__all__: list[str] = []` to export nothing)"
    assert len(set(exported)) == len(exported), f"{name}.__all__ lists a name twice"
    missing = [n for n in exported if not hasattr(package, n)]
    assert not missing, f"{name}.__all__ lists names the package does not have: {missing}"
    public = {n for n in _top_level_names(ast.parse(_init_file(package).read_text())) if _is_public(n)}
    unlisted = sorted(public - set(exported))
    assert not unlisted, f"{name} defines or imports public names not in __all__ (list them or rename _x): {unlisted}"
    assert set(exported) == public, f"{name}.__all__ lists names its __init__ neither defines nor imports"


@pytest.mark.parametrize("name", _module_names())
def test_a_modules_all_lists_only_names_it_has(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", [])
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists names the module does not have: {missing}"
    assert len(set(exported)) == len(exported), f"{name}.__all__ lists a name twice"


def test_the_modules_inside_upstream_are_private() -> None:
    # albauth.upstream's surface is its package: `_client.py`, `_pool.py`... are not imported by name.
    import albauth.upstream as upstream

    assert [m.name for m in pkgutil.iter_modules(upstream.__path__) if not m.name.startswith("_")] == []
