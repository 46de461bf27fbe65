"""Configuration files: the examples in config/*.yaml mutated node by node (values replaced by
other types, keys dropped or added, list items repeated), their text cut and spliced, and
random YAML documents.

Property: `load_text` returns Settings or raises ConfigError whose issues each name the
file and say what is wrong (`file: key: reason`); never another exception."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from albauth.config.errors import ConfigError
from albauth.config.intrinsics import Intrinsic, Loader
from albauth.config.load import load_text
from albauth.config.model import Settings
from tests.support import REPO

from .harness import fuzz_settings

FILE = "fuzz.yaml"
EXAMPLES = {p.name: p.read_text() for p in sorted((REPO / "config").glob("*.yaml"))}
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=30), st.sampled_from(["", "${UNSET}", "${ALBAUTH_SESSION_SECRET}", "!Ref x",
                                                          "*", "0.0.0.0:0", "http://", "-1", "1e400", "off"]))
KEYS = st.one_of(st.text(max_size=12), st.integers(), st.booleans(),
                 st.sampled_from(["Type", "Port", "Rules", "albauth", "Conditions", "Values", "<<"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(KEYS, inner, max_size=4)),
                      max_leaves=12)


class _Dumper(yaml.SafeDumper):
    """Writes `!Ref X` back as it was read."""


_Dumper.add_representer(Intrinsic, lambda d, v: d.represent_scalar(f"!{v.function}", str(v)))


@pytest.fixture
def env(tls_files: tuple[str, str]) -> dict[str, str]:
    """What the examples read from the environment, so that unmutated they load."""
    cert, key = tls_files
    return {"OIDC_CLIENT_SECRET": "x" * 24, "ALBAUTH_SESSION_SECRET": "s" * 40, "COGNITO_CLIENT_SECRET": "c" * 24,
            "ALBAUTH_TLS_CERT": cert, "ALBAUTH_TLS_KEY": key,
            "JWKS_URL": "https://login.example.com/.well-known/jwks.json", "JWT_ISSUER": "https://login.example.com"}


def nodes(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into the document (dict keys and list indices)."""
    found = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            found += nodes(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found += nodes(v, (*path, i))
    return found


def mutate(doc: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "drop":
        del parent[last]
    elif how == "repeat" and isinstance(parent, list):
        parent.insert(last, _clone(parent[last]))
    elif isinstance(parent, dict):
        parent[value if isinstance(value, str) else str(value)] = _clone(parent[last])
    return doc


def _clone(value: Any) -> Any:
    # Through YAML, not copy.deepcopy: Intrinsic (a str subclass) takes two arguments to build.
    return yaml.load(yaml.dump(value, Dumper=_Dumper), Loader=Loader)  # noqa: S506 - a SafeLoader


def check(text: str, env: dict[str, str]) -> str:
    """Load; the outcome's name, after checking the shape of any ConfigError."""
    try:
        result = load_text(text, FILE, env)
    except ConfigError as exc:
        assert exc.issues, "a ConfigError without issues"
        for issue in exc.issues:
            assert issue.file == FILE and issue.message.strip(), issue
            assert str(issue).startswith(f"{FILE}: "), str(issue)
        return "ConfigError"
    assert isinstance(result, Settings)
    return "Settings"


def test_the_examples_load_unmutated(env: dict[str, str]) -> None:
    for name, text in EXAMPLES.items():
        assert check(text, env) == "Settings", name


@fuzz_settings(150)
@given(data=st.data(), name=st.sampled_from(sorted(EXAMPLES)),
       how=st.sampled_from(["replace", "drop", "repeat", "add"]), value=VALUES, with_env=st.booleans())
def test_mutated_examples_load_or_raise_config_error(env: dict[str, str], data: st.DataObject, name: str, how: str,
                                                     value: Any, with_env: bool) -> None:
    doc = yaml.load(EXAMPLES[name], Loader=Loader)  # noqa: S506 - albauth's SafeLoader
    path = data.draw(st.sampled_from(nodes(doc)), label="path")
    doc = mutate(doc, path, how, value)
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    event(check(text, env if with_env else {}))


@fuzz_settings(150)
@given(name=st.sampled_from(sorted(EXAMPLES)), at=st.integers(0, 10**6), cut=st.integers(0, 200),
       splice=st.text(max_size=40))
def test_cut_and_spliced_example_text_loads_or_raises_config_error(env: dict[str, str], name: str, at: int, cut: int,
                                                                   splice: str) -> None:
    text = EXAMPLES[name]
    at %= len(text) + 1
    event(check(text[:at] + splice + text[at + cut:], env))


@fuzz_settings(150)
@given(doc=VALUES | st.dictionaries(st.sampled_from(["albauth", "listeners", "LoadBalancerAttributes"]), VALUES))
def test_random_documents_load_or_raise_config_error(doc: Any) -> None:
    event(check(yaml.safe_dump(doc, allow_unicode=True), {}))


def test_a_condition_field_that_is_a_list_is_a_config_error() -> None:
    """Found by the mutation fuzzer: `Field: []` raised TypeError (unhashable) instead."""
    text = """
listeners:
  - Protocol: HTTP
    Port: 8080
    DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "200"}}]
    Rules:
      - Priority: 1
        Conditions: [{Field: [], Values: [/x]}]
        Actions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "200"}}]
"""
    try:
        load_text(text, FILE, {})
    except ConfigError as exc:
        assert [str(i) for i in exc.issues] == [
            f"{FILE}: listeners[0].Rules[0].Conditions[0].Field: must be one of "
            "host-header, path-pattern, http-header, http-request-method, query-string, source-ip (got [])"]
    else:
        raise AssertionError("loaded")
