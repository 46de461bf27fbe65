"""A CloudFormation template as `albauth import-rules` reads it: YAML short forms (`!Ref`,
`!Sub`, `!GetAtt`, ...) read as their JSON long forms (`{"Ref": ...}`, `{"Fn::Sub": ...}`),
and the functions evaluated as far as a configuration can hold them.

A template's parameters are only known at deploy time, so they become `${Name}` variables
(with the parameter's Default as `${Name:-default}`): albauth substitutes them from the
environment when it loads the configuration. A target group's `!Ref`/`!GetAtt` becomes the
group's name. Anything else (another resource's ARN, `Fn::If`, `Fn::ImportValue`, ...) becomes
a `${VAR}` named after its key, and a note says so."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

__all__ = ["CfnLoader", "CfnResolver", "env_name"]

Note = Callable[[str], None]

_PSEUDO = {"AWS::Region": "AWS_REGION", "AWS::AccountId": "AWS_ACCOUNT_ID", "AWS::StackName": "AWS_STACK_NAME",
           "AWS::Partition": "AWS_PARTITION", "AWS::URLSuffix": "AWS_URL_SUFFIX"}
_SUB_VAR = re.compile(r"\$\{(!?)([^}]*)\}")


class CfnLoader(yaml.SafeLoader):
    """SafeLoader reading `!Fn value` as `{"Fn::Fn": value}` and `!Ref X` as `{"Ref": X}`,
    so YAML and JSON templates are one shape."""


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _construct)


def env_name(text: str) -> str:
    """A `${VAR}` name albauth's substitution accepts: `[A-Za-z_][A-Za-z0-9_]*`."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "VALUE"
    return name if not name[0].isdigit() else f"_{name}"


def _is_function(node: Any) -> bool:
    return isinstance(node, dict) and len(node) == 1 and (next(iter(node)) == "Ref"
                                                          or str(next(iter(node))).startswith("Fn::"))


class CfnResolver:
    """Evaluates the functions in one template's resource properties."""

    def __init__(self, template: dict[str, Any], target_groups: dict[str, str], note: Note) -> None:
        self.parameters: dict[str, Any] = template.get("Parameters") or {}
        self.target_groups = target_groups  # logical id -> albauth's group name
        self.variables: dict[str, str] = {}  # every ${VAR} written -> what to set it to
        self._note = note

    def resolve(self, node: Any, path: str) -> Any:
        """`node` with every function evaluated; `path` names it in notes and variables."""
        if _is_function(node):
            (name, arg), = node.items()
            return self._function(name, arg, path)
        if isinstance(node, list):
            return [self.resolve(v, f"{path}[{i}]") for i, v in enumerate(node)]
        if isinstance(node, dict):
            return {k: self.resolve(v, f"{path}.{k}") for k, v in node.items()}
        return node

    def _function(self, name: str, arg: Any, path: str) -> Any:
        if name == "Ref":
            return self._ref(str(arg), path)
        if name == "Fn::GetAtt" and isinstance(arg, list) and len(arg) == 2:
            if arg[0] in self.target_groups and arg[1] == "TargetGroupArn":
                return self.target_groups[arg[0]]
            return self._unknown(f"{arg[0]}.{arg[1]}", path, f"!GetAtt {arg[0]}.{arg[1]}")
        if name == "Fn::Sub":
            return self._sub(arg, path)
        if name == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            parts = [self.resolve(p, path) for p in arg[1]]
            if all(isinstance(p, (str, int)) for p in parts):
                return str(arg[0]).join(str(p) for p in parts)
        return self._unknown(path.rsplit(".", 1)[-1], path, f"!{name.removeprefix('Fn::')}")

    def _ref(self, ref: str, path: str) -> str:
        if ref in self.target_groups:
            return self.target_groups[ref]
        if ref in _PSEUDO:
            return self._variable(_PSEUDO[ref], None, f"the stack's {ref}")
        if ref in self.parameters:
            spec = self.parameters[ref] or {}
            default = spec.get("Default") if isinstance(spec, dict) else None
            if default is not None and "}" in str(default):  # `${X:-...}` cannot hold a `}`
                default = None
            return self._variable(env_name(ref), None if default is None else str(default),
                                  f"the template's parameter {ref}")
        return self._unknown(ref, path, f"!Ref {ref} (a resource albauth has no use for)")

    def _sub(self, arg: Any, path: str) -> str:
        text, values = (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) else (arg, {})

        def repl(m: re.Match[str]) -> str:
            literal, name = m.group(1), m.group(2)
            if literal:  # `${!Literal}` is CloudFormation's escape for a literal `${Literal}`
                return f"$${{{name}}}"
            if name in values:
                return str(self.resolve(values[name], path))
            if "." in name:
                resource, attribute = name.split(".", 1)
                return str(self._function("Fn::GetAtt", [resource, attribute], path))
            return self._ref(name, path)

        return _SUB_VAR.sub(repl, str(text))

    def _unknown(self, what: str, path: str, written: str) -> str:
        var = env_name(what).upper()
        self._note(f"{path}: {written} cannot be evaluated outside CloudFormation: written as ${{{var}}}")
        return self._variable(var, None, f"the value of {written}")

    def _variable(self, name: str, default: str | None, meaning: str) -> str:
        self.variables.setdefault(name, meaning)
        return f"${{{name}}}" if default is None else f"${{{name}:-{default}}}"
