"""Error responses: JSON with a message and an id, never a stack trace, SQL or a path."""

from __future__ import annotations

import logging
import uuid

from pydantic import BaseModel

from aphos_lib.rest.jsonout import CompatJSONResponse

__all__ = ["ERROR_RESPONSES", "ErrorMessage", "error_response"]

log = logging.getLogger("aphos_lib.rest")


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


def error_response(status: int, message: str) -> CompatJSONResponse:
    """``{"id": <uuid>, "message": ...}`` with ``status``.

    The id is logged with the status, so a report quoting it can be found in the log.
    """
    error_id = str(uuid.uuid4())
    log.info("error %s: %s %s", error_id, status, message)
    return CompatJSONResponse({"id": error_id, "message": message}, status_code=status)
