"""The published notebooks: list and read them (anyone), publish or withdraw one's own.

The router of :mod:`aphos_lib.web.published` (the area on disk), included by
:func:`aphos_lib.web.app.create_app` under the service's prefix.
"""

# No "from __future__ import annotations": FastAPI reads the endpoint signatures.
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from aphos_lib.web import published as pub
from aphos_lib.web.deps import CurrentObserver, Settings
from aphos_lib.web.models.service import Published, PublishedNotebook
from aphos_lib.web.rest.errors import service_errors
from aphos_lib.web.rest.jsonout import StrictJSONResponse

__all__ = ["router"]

router = APIRouter(
    tags=["Published notebooks"], prefix="/published", default_response_class=StrictJSONResponse
)


@router.get("", response_model=list[PublishedNotebook])
def published_list(settings: Settings) -> Response:
    return StrictJSONResponse(pub.list_published(settings.published_dir))


@router.get(
    "/{username}/{name}",
    response_class=Response,
    responses={200: {"content": {"application/x-ipynb+json": {}}}, **service_errors(400, 404)},
)
def published_get(username: str, name: str, settings: Settings) -> Response:
    try:
        data = pub.read_published(settings.published_dir, username, name)
    except pub.InvalidNotebook as e:
        raise HTTPException(400, str(e)) from e
    if data is None:
        raise HTTPException(404, f"{username} has not published {name}")
    return Response(data, media_type="application/x-ipynb+json")


@router.put("/{name}", response_model=Published, responses=service_errors(400, 401, 403, 409))
async def published_put(
    name: str, request: Request, observer: CurrentObserver, settings: Settings
) -> Response:
    try:
        pub.publish(settings.published_dir, observer.username, name, await request.body())
    except pub.InvalidNotebook as e:
        raise HTTPException(400, str(e)) from e
    url = f"{settings.prefix}published/{observer.username}/{name}"
    return StrictJSONResponse({"username": observer.username, "name": name, "url": url})


@router.delete("/{name}", status_code=204, responses=service_errors(400, 401, 403, 404, 409))
def published_delete(name: str, observer: CurrentObserver, settings: Settings) -> Response:
    try:
        removed = pub.unpublish(settings.published_dir, observer.username, name)
    except pub.InvalidNotebook as e:
        raise HTTPException(400, str(e)) from e
    if not removed:
        raise HTTPException(404, f"you have not published {name}")
    return Response(status_code=204)
