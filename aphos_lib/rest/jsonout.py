"""JSON as the original APhoS wrote it: NaN and -Infinity allowed.

The original API sends ``-Infinity`` as the magnitude of a saturated measurement, and its
Python client reads such tokens. Here a value that is not known (a saturated flux, a missing
deviation) is sent as ``NaN`` rather than the original's 0, which looked like a measurement.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

__all__ = ["CompatJSONResponse"]


class CompatJSONResponse(JSONResponse):
    """A JSON response that may hold ``NaN``, ``Infinity`` and ``-Infinity`` tokens."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=True, ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")  # fmt: skip
