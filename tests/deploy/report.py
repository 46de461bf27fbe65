"""One line per check of the image smoke test; the first failure ends the run (exit 1)."""

from __future__ import annotations


def check(what: str, ok: bool, detail: object = "") -> None:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail != "" else ""), flush=True)
    if not ok:
        raise SystemExit(1)
