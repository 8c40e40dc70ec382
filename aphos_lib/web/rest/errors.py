"""Error responses: JSON with a message and an id, never a stack trace, SQL or a path.

An unexpected exception is answered here, by :class:`ContainErrors`, and goes no further.
Starlette's own last-resort handler re-raises after sending its 500, and uvicorn then closes
the keep-alive connection without a ``Connection: close``: the proxy, which pools its
connections to the service, sent the next request (anyone's) on the dead one and answered it
"read ECONNRESET".
"""

from __future__ import annotations

import logging
import uuid

from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aphos_lib.web.rest.jsonout import StrictJSONResponse

__all__ = [
    "ERROR_RESPONSES",
    "ContainErrors",
    "ErrorMessage",
    "error_response",
    "service_errors",
]

log = logging.getLogger("aphos_lib.web.rest")

INTERNAL_ERROR = "internal error; quote this id when reporting it"


class ErrorMessage(BaseModel):
    """The original API's error body."""

    id: str
    message: str


ERROR_RESPONSES = {
    400: {"model": ErrorMessage, "description": "A parameter is missing or wrong"},
    404: {"model": ErrorMessage, "description": "No such object or observer"},
    500: {"model": ErrorMessage, "description": "Something failed on the server (see the id)"},
    503: {"model": ErrorMessage, "description": "The query took too long, or the server is busy"},
}


# Why the service's own routes (profiles, published notebooks) refuse a request.
_SERVICE_ERRORS = {
    400: "The request is malformed (a name, a notebook, a username)",
    401: "Not signed in",
    403: "Not yours, or signed in by cookie without echoing the _xsrf cookie",
    404: "No such observer or notebook",
    409: "Taken, or choose a username first",
}


def service_errors(*codes: int) -> dict:
    """OpenAPI ``responses`` of a service route's error statuses: ``{id, message}`` bodies.

    Examples
    --------
    >>> service_errors(404)[404]["description"]
    'No such observer or notebook'
    """
    return {c: {"model": ErrorMessage, "description": _SERVICE_ERRORS[c]} for c in codes}


def error_response(status: int, message: str) -> StrictJSONResponse:
    """``{"id": <uuid>, "message": ...}`` with ``status``.

    The id is logged with the status, so a report quoting it can be found in the log.
    """
    error_id = str(uuid.uuid4())
    log.info("error %s: %s %s", error_id, status, message)
    return StrictJSONResponse({"id": error_id, "message": message}, status_code=status)


class ContainErrors:
    """ASGI middleware: an unexpected exception becomes a 500 ``{id, message}`` and stops here.

    The trace is logged under the response's id. The connection stays usable: the exception
    is not passed on to the server, which would drop the connection. When the response had
    already started (a stream that failed half way) nothing whole can be sent any more, and
    the exception is passed on so that the server closes the connection.

    Parameters
    ----------
    app : ASGI application
        What it wraps (added with ``app.add_middleware(ContainErrors)``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                raise
            response = error_response(500, INTERNAL_ERROR)
            log.exception("unexpected error %s", response.body.decode())
            await response(scope, receive, send)
