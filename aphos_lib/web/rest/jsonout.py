"""JSON out of the api: never a ``NaN`` or ``Infinity`` token, except for the original client.

``NaN`` and ``Infinity`` are not JSON: browsers' ``JSON.parse`` and most parsers refuse the
whole document. Every response is rendered by :class:`StrictJSONResponse`, which writes a
non-finite number as ``null`` and then renders with ``allow_nan=False``, so that none can slip
through.

The one exception is the original APhoS Python client (``aphos-openapi``), which reads with
Python's lenient ``json.loads`` and types its fluxes' deviations as numbers only: ``null`` or a
string there makes it reject the whole answer. The original Java API sent ``NaN`` and
``-Infinity`` tokens; the original-API endpoints (:mod:`aphos_lib.web.rest.compat`) still send
them to that client, recognised by the User-Agent its generated code sends, and to nobody else.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request

__all__ = [
    "OriginalClientJSONResponse",
    "StrictJSONResponse",
    "finite_or_null",
    "is_original_client",
]


def finite_or_null(value: Any) -> Any:
    """``value`` with every NaN and infinite float (in dicts, lists, tuples) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(v) for v in value]
    return value


def _dumps(content: Any, *, allow_nan: bool) -> bytes:
    return json.dumps(
        content, allow_nan=allow_nan, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


class StrictJSONResponse(JSONResponse):
    """Standard JSON: a non-finite number is written ``null``.

    Examples
    --------
    >>> StrictJSONResponse({"filter": float("nan"), "mag": [1.5, float("-inf")]}).body
    b'{"filter":null,"mag":[1.5,null]}'
    """

    def render(self, content: Any) -> bytes:
        try:
            # Nearly every answer is finite: rendered at the encoder's full speed.
            return _dumps(content, allow_nan=False)
        except ValueError:
            return _dumps(finite_or_null(content), allow_nan=False)


class OriginalClientJSONResponse(JSONResponse):
    """The original API's dialect: ``NaN``, ``Infinity`` and ``-Infinity`` tokens allowed."""

    def render(self, content: Any) -> bytes:
        return _dumps(content, allow_nan=True)


def is_original_client(request: Request) -> bool:
    """Whether the request comes from the original APhoS client (``aphos-openapi``).

    Its generated code sends ``User-Agent: OpenAPI-Generator/<version>/python``.
    """
    agent = request.headers.get("user-agent", "")
    return agent.startswith("OpenAPI-Generator/") and agent.endswith("/python")
