"""ALB's own error responses: tiny nginx-style HTML pages with `Server: awselb/2.0`.

Every place that answers on ALB's behalf (a failed target, a denied request, a broken
login) goes through `alb_error_response`, so the shape is the same everywhere.
"""

from __future__ import annotations

from aiohttp import web

SERVER = "awselb/2.0"

# Reason phrases as ALB renders them in the <title> (nginx's wording, e.g. the observed
# "401 Authorization Required"); 463 and 561 are ALB's own codes.
_REASONS = {
    400: "Bad Request",
    401: "Authorization Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Time-out",
    413: "Request Entity Too Large",
    414: "Request-URI Too Large",
    431: "Request Header Fields Too Large",
    460: "",
    463: "",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
    561: "Unauthorized",
}


def reason_phrase(status: int) -> str:
    return _REASONS.get(status, "")


def alb_error_body(status: int) -> bytes:
    title = f"{status} {reason_phrase(status)}".rstrip()
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    ).encode()


_BODIES = {status: alb_error_body(status) for status in _REASONS}


def alb_error_response(status: int, *, error_reason: str | None = None,
                       expose_reason: bool = False) -> web.Response:
    """An ALB-generated error page. `error_reason` is ALB's access-log code; it is
    only sent to the client (as `x-alb-emulator-error-reason`) when asked for."""
    body = _BODIES.get(status) or alb_error_body(status)
    resp = web.Response(status=status, body=body, reason=reason_phrase(status) or None,
                        content_type="text/html")
    resp.headers["Server"] = SERVER
    if error_reason and expose_reason:
        resp.headers["x-alb-emulator-error-reason"] = error_reason
    return resp


class AlbError(Exception):
    """A failure that ALB answers with a status code and an access-log error_reason."""

    def __init__(self, status: int, error_reason: str, message: str = "",
                 metric: str | None = None) -> None:
        super().__init__(message or error_reason)
        self.status = status
        self.error_reason = error_reason
        self.metric = metric
