"""`${VAR}` and `${VAR:-default}` substitution in every string of a parsed YAML document.

Substitution runs after parsing, on string scalars only, so a variable's value can never
change the document's structure (no YAML injection through the environment)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from albauth.config.intrinsics import Intrinsic

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Report = Callable[[str, str], None]  # (key path, message)


def substitute(node: Any, env: Mapping[str, str], report: Report, path: str = "") -> Any:
    if isinstance(node, Intrinsic):  # `!Sub '${Domain}'` names CloudFormation's parameter, not a variable
        return node
    if isinstance(node, str):
        return _substitute_string(node, env, report, path)
    if isinstance(node, list):
        return [substitute(v, env, report, f"{path}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, dict):
        return {k: substitute(v, env, report, f"{path}.{k}" if path else str(k))
                for k, v in node.items()}
    return node


def _substitute_string(text: str, env: Mapping[str, str], report: Report, path: str) -> str:
    if "$" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":  # an escaped dollar
            return "$"
        name, default = m.group(1), m.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is not None:
                return default
            report(path, f"environment variable {name} is not set (write ${{{name}:-default}} to give a default)")
            return ""
        return value

    return _VAR.sub(repl, text)
