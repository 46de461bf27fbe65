"""A WSGI app behind wsgiref's server, in a thread: a CGI-style target that folds `_` and
`-` in header names into the same `HTTP_*` environ key, as many real apps see them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


def environ_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Answers with the request's `HTTP_*` environ entries as JSON."""
    body = json.dumps({k: v for k, v in environ.items() if k.startswith("HTTP_")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def wsgi_target() -> Iterator[str]:
    """The base URL of a running `environ_app`."""
    server: WSGIServer = make_server("127.0.0.1", 0, environ_app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
