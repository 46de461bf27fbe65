"""The shape of albauth/ as the house style holds it: no import cycle (imports under
`TYPE_CHECKING` and inside functions count: a cycle hidden there is still two modules that
cannot be understood, or tested, apart), no module over 450 lines, no function over 70.

The graph is read from the source with `ast`, not from `sys.modules`: every `import` and
`from … import` anywhere in a module is an edge. `from X import Y` where `X.Y` is a module
is an edge to `X.Y`; otherwise to `X`, whose `__init__` re-exports are its own edges."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import albauth

ROOT = Path(albauth.__file__).parent
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 70


@dataclass(frozen=True)
class Module:
    name: str  # dotted: albauth.session.store
    path: Path

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def package(self) -> str:
        """Where this module's relative imports start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


def albauth_modules() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = Module(".".join(parts), path)
    return modules


def _absolute(module: Module, level: int, name: str | None) -> str:
    """The dotted name a (possibly relative) `from` import refers to."""
    if level == 0:
        return name or ""
    base = module.package.split(".")
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(module: Module, known: dict[str, Module]) -> set[str]:
    """The albauth modules `module` imports, anywhere in its body."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.path.read_text(), str(module.path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node.level, node.module)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in known else source)
    return {name for name in found if name in known and name != module.name}


def import_graph() -> dict[str, set[str]]:
    known = albauth_modules()
    return {name: imports_of(module, known) for name, module in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, …, a], or None: depth-first search, iterative."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        stack: list[Iterator[str]] = [iter(sorted(graph[start]))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif nxt in on_path:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_find_cycle_finds_one_and_only_when_there_is_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": set(), "c": {"c"}}) == ["c", "c"]


def test_the_graph_sees_relative_and_function_level_imports() -> None:
    graph = import_graph()
    # Spot checks that the reader resolves what it must, so an empty graph cannot pass.
    assert "albauth.session.cookie_store" in graph["albauth.session"]  # a package's re-export
    assert "albauth.demo.app" in graph["albauth.demo"]  # `from .app import …`
    assert "albauth.devmode" in graph["albauth.cli"]  # inside a function
    assert "albauth.session.redis_store" in graph["albauth.signing.shared_keys"]  # under TYPE_CHECKING
    assert len(graph) > 50 and sum(len(edges) for edges in graph.values()) > 100


def test_no_import_cycle_in_albauth() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_over_450_lines() -> None:
    too_long = {m.name: n for m in albauth_modules().values()
                if (n := len(m.path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def test_no_function_over_70_lines() -> None:
    too_long: dict[str, int] = {}
    for module in albauth_modules().values():
        for node in ast.walk(ast.parse(module.path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long[f"{module.name}:{node.lineno} {node.name}"] = lines
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines: {too_long}"
