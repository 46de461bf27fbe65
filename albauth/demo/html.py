"""Building blocks for the demo's pages: the shared layout, JSON shown with its key order
and colours, and long tokens shortened with a way to see them whole.

Every value that came from a request is escaped here or in `pages`; nothing is marked
safe by accident because nothing takes raw HTML except these helpers' own output.
"""

from __future__ import annotations

import json
from functools import lru_cache
from html import escape
from importlib import resources
from string import Template
from typing import Any

SHORT_HEAD = 24
SHORT_TAIL = 12


@lru_cache(maxsize=1)
def _layout() -> Template:
    return Template(resources.files("albauth.demo").joinpath("layout.html").read_text("utf-8"))


def layout(title: str, body: str, tagline: str = "") -> str:
    return _layout().substitute(title=escape(title), body=body,
                                tagline=f"<span>{escape(tagline)}</span>" if tagline else "")


def json_html(value: Any, indent: int = 0) -> str:
    """`json.dumps(value, indent=2)` with spans for colour; dicts keep their order."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict) and value:
        items = [f'{inner}<span class="j-key">{escape(json.dumps(str(k), ensure_ascii=False))}</span>'
                 f'<span class="j-p">:</span> {json_html(v, indent + 1)}' for k, v in value.items()]
        return '<span class="j-p">{</span>\n' + ',\n'.join(items) + f'\n{pad}<span class="j-p">}}</span>'
    if isinstance(value, list) and value:
        items = [f"{inner}{json_html(v, indent + 1)}" for v in value]
        return '<span class="j-p">[</span>\n' + ',\n'.join(items) + f'\n{pad}<span class="j-p">]</span>'
    text = escape(json.dumps(value, ensure_ascii=False))
    if isinstance(value, str):
        return f'<span class="j-str">{text}</span>'
    if isinstance(value, bool) or value is None:
        return f'<span class="j-lit">{text}</span>'
    if isinstance(value, (int, float)):
        return f'<span class="j-num">{text}</span>'
    return f'<span class="j-p">{text}</span>'  # empty {} or []


def shorten(value: str) -> str:
    if len(value) <= SHORT_HEAD + SHORT_TAIL + 8:
        return value
    return f"{value[:SHORT_HEAD]}…{value[-SHORT_TAIL:]}"


def token_html(value: str, extra: str = "") -> str:
    """A token on one short line, the whole of it (and `extra`, already HTML) on demand."""
    if len(value) <= SHORT_HEAD + SHORT_TAIL + 8 and not extra:
        return f'<span class="token">{escape(value)}</span>'
    return (f'<span class="token">{escape(shorten(value))}</span>'
            f'<details class="more"><summary>Show all {len(value):,} characters</summary>'
            f'<pre class="wrapped">{escape(value)}</pre>{extra}</details>')
