"""CloudFormation's short-form functions (`!Ref`, `!GetAtt`, `!Sub`, ...) in a pasted template.

albauth cannot evaluate them. Where a value names a target group (`TargetGroupArn: !Ref
AppTargetGroup`) the name is what albauth needs, so `!Ref X` and `!GetAtt X.Attr` read as `X`.
Anywhere else the function's argument is not the value CloudFormation would put there
(`ClientSecret: !Ref OidcClientSecret` is not the secret "OidcClientSecret"), so it is refused
rather than used; fields albauth ignores (ARNs, certificates, tags) may hold any function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

# Keys whose value names a target group, and the functions that give that name.
_NAME_KEYS = frozenset({"TargetGroupArn"})
_NAME_FUNCTIONS = frozenset({"Ref", "GetAtt"})
# ALB fields albauth accepts from pasted templates and describe output but does not use.
_IGNORED_KEYS = frozenset({"LoadBalancerArn", "ListenerArn", "RuleArn", "Certificates", "SslPolicy", "AlpnPolicy",
                           "TrustStoreArn", "Tags"})

Report = Callable[[str, str], None]  # (key path, message)


class Intrinsic(str):
    """A value written as a CloudFormation function: the name it refers to (`!Ref X` -> X)."""

    function: str

    def __new__(cls, value: str, function: str) -> Intrinsic:
        self = super().__new__(cls, value)
        self.function = function
        return self


class Loader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation's short-form functions as `Intrinsic` values."""


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Intrinsic:
    if isinstance(node, yaml.ScalarNode):
        value = str(loader.construct_scalar(node))
        return Intrinsic(value.split(".")[0] if suffix == "GetAtt" else value, suffix)
    if isinstance(node, yaml.SequenceNode):  # e.g. !GetAtt [AppTargetGroup, TargetGroupArn]
        items = loader.construct_sequence(node)
        return Intrinsic(str(items[0]) if items else "", suffix)
    return Intrinsic("", suffix)


Loader.add_multi_constructor("!", _construct)


def refuse_intrinsics(node: Any, report: Report, path: str = "", key: str = "") -> None:
    """Report every function whose value albauth would otherwise take literally."""
    if key in _IGNORED_KEYS:
        return
    if isinstance(node, Intrinsic):
        if key in _NAME_KEYS and node.function in _NAME_FUNCTIONS:
            return
        report(path, f"!{node.function} is a CloudFormation function, which albauth does not evaluate "
                     f"(it would read {str(node)!r} literally): write the value itself, or ${{VAR}} to take "
                     "it from the environment" + (" (a target group is named with !Ref or !GetAtt)"
                                                   if key in _NAME_KEYS else ""))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            refuse_intrinsics(item, report, f"{path}[{i}]", key)
    elif isinstance(node, dict):
        for k, value in node.items():
            refuse_intrinsics(value, report, f"{path}.{k}" if path else str(k), str(k))
