"""``GET health``: the service and its database answer (the hub and monitors ask)."""

# No "from __future__ import annotations": FastAPI reads the endpoint signatures.
from fastapi import APIRouter
from fastapi.responses import Response

from aphos_lib import queries
from aphos_lib.web.deps import Writer
from aphos_lib.web.models.service import Health
from aphos_lib.web.rest.jsonout import StrictJSONResponse

__all__ = ["router"]

router = APIRouter(default_response_class=StrictJSONResponse)


@router.get("/health", response_model=Health)
def health(writer: Writer) -> Response:
    with writer() as conn:
        queries.service.ping().one(conn)
    return StrictJSONResponse({"status": "ok", "service": "api", "database": "ok"})
