"""Per-match cost of a RegexValues expression (RE2, albauth.regex) against the equivalent
wildcard Values pattern (albauth.wildcard): `python bench/regex_vs_glob.py`."""

from __future__ import annotations

import timeit
from collections.abc import Callable

from albauth.regex import compile_alb_regex
from albauth.wildcard import compile_glob

CASES = [
    ("typical path", "/api/v*/users/*", r"^/api/v[^/]*/users/.*$", "/api/v2/users/42/orders"),
    ("16 KB path, no match", "/files/*/*/*.pdf", r"^/files/.*/.*/.*\.pdf$", "/files/" + "a/" * 8000 + "x.txt"),
]


def _microseconds(match: Callable[[str], bool], value: str, n: int) -> float:
    return min(timeit.repeat(lambda: match(value), number=n, repeat=3)) / n * 1e6


def main() -> None:
    for name, glob_pattern, regex_pattern, value in CASES:
        glob, regex = compile_glob(glob_pattern, ignore_case=False), compile_alb_regex(regex_pattern)
        assert glob(value) == regex.search(value)
        n = 200_000 if len(value) < 100 else 2_000
        per_glob, per_regex = _microseconds(glob, value, n), _microseconds(regex.search, value, n)
        print(f"{name}: glob {per_glob:.2f} us, RE2 {per_regex:.2f} us per match")


if __name__ == "__main__":
    main()
