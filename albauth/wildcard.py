"""ALB's wildcard values in linear time (spec 7.2: `*` is zero or more characters and spans
`/`, `?` exactly one; host-header, path-pattern, http-header and query-string values).

Each pattern is compiled once, at rule-table build, into the literal pieces between its
`*`s. A value matches when the first piece is its prefix, the last its suffix, and the
middle pieces occur in order in between; taking each middle piece at its leftmost place is
correct because pieces have a fixed length (a `?` is one character). With `str.find` for the
search, a request costs O(len(value) * len(pattern)) at worst and usually one scan. The
regular expression this replaces backtracked: `/files/*/*/*.pdf` against one 3 KB path held
the event loop for 5.5 s, 16 KB for minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Glob", "compile_glob", "fold_case", "has_wildcards"]

_ANY = None  # a `?` in a tokenized pattern


def fold_case(text: str) -> str:
    """Lower case, one character for one (so `?` still counts characters): `str.lower`
    turns a few non-ASCII characters into two (`İ`)."""
    if text.isascii():
        return text.lower()
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)


@dataclass(frozen=True)
class _Piece:
    """A run of literal characters and `?`s: the text between two `*`s."""

    length: int
    chunks: tuple[tuple[int, str], ...]  # (offset in the piece, literal text), `?`s left out

    def at(self, value: str, i: int) -> bool:
        for offset, chunk in self.chunks:
            if not value.startswith(chunk, i + offset):
                return False
        return True

    def find(self, value: str, start: int, stop: int) -> int:
        """The leftmost i in [start, stop - length] where the piece matches, or -1."""
        last = stop - self.length
        if not self.chunks:
            return start if start <= last else -1
        offset, chunk = self.chunks[0]
        i = value.find(chunk, start + offset, last + offset + len(chunk)) - offset
        while i >= start:
            if self.at(value, i):
                return i
            i = value.find(chunk, i + offset + 1, last + offset + len(chunk)) - offset
        return -1


def _piece(tokens: Sequence[str | None]) -> _Piece:
    chunks: list[tuple[int, str]] = []
    run_start = 0
    for i, token in enumerate([*tokens, _ANY]):
        if token is _ANY:
            if i > run_start:
                chunks.append((run_start, "".join(t for t in tokens[run_start:i] if t is not None)))
            run_start = i + 1
    return _Piece(len(tokens), tuple(chunks))


@dataclass(frozen=True)
class Glob:
    """One compiled wildcard pattern."""

    pieces: tuple[_Piece, ...]  # one more than the pattern has `*`s
    ignore_case: bool
    min_length: int

    def __call__(self, value: str) -> bool:
        if self.ignore_case:
            value = fold_case(value)
        pieces = self.pieces
        first = pieces[0]
        if len(pieces) == 1:
            return len(value) == first.length and first.at(value, 0)
        if len(value) < self.min_length or not first.at(value, 0):
            return False
        last = pieces[-1]
        end = len(value) - last.length
        if not last.at(value, end):
            return False
        pos = first.length
        for piece in pieces[1:-1]:
            i = piece.find(value, pos, end)
            if i < 0:
                return False
            pos = i + piece.length
        return True


def _tokens(pattern: str, escapes: bool) -> list[str | None]:
    """Characters, `?` as None and `*` as "" (never a character); with `escapes`, a
    backslash makes the next `*`, `?` or `\\` literal (query-string values, spec 7.2)."""
    out: list[str | None] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escapes and ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?\\":
            out.append(pattern[i + 1])
            i += 2
            continue
        out.append("" if ch == "*" else _ANY if ch == "?" else ch)
        i += 1
    return out


def compile_glob(pattern: str, *, ignore_case: bool, escapes: bool = False) -> Glob:
    tokens = _tokens(fold_case(pattern) if ignore_case else pattern, escapes)
    pieces: list[_Piece] = []
    current: list[str | None] = []
    for token in tokens:
        if token == "":
            pieces.append(_piece(current))
            current = []
        else:
            current.append(token)
    pieces.append(_piece(current))
    return Glob(tuple(pieces), ignore_case, sum(p.length for p in pieces))


def has_wildcards(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern
