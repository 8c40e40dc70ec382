"""Observers' public profiles: ``GET`` one (HTML for browsers, else JSON), ``PUT`` one's own
(username, description, site: any of them; a field not sent keeps its value).

The router of :mod:`aphos_lib.web.profiles` (what a profile is and how it is saved), included
by :func:`aphos_lib.web.app.create_app` under the service's prefix.
"""

# No "from __future__ import annotations": FastAPI reads the endpoint signatures.
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from aphos_lib.observers import InvalidSite, InvalidUsername, Observer
from aphos_lib.uploads.status import list_uploads
from aphos_lib.web import pages
from aphos_lib.web import published as pub
from aphos_lib.web.deps import Settings, SignedIn, Writer, maybe_signed_in
from aphos_lib.web.models.service import Profile as ProfileBody
from aphos_lib.web.models.service import SavedProfile
from aphos_lib.web.profiles import (
    SITE_KEYS,
    UsernameTaken,
    profile_by_hub_user,
    public_profile,
    save_profile,
)
from aphos_lib.web.rest.errors import service_errors
from aphos_lib.web.rest.jsonout import StrictJSONResponse

__all__ = ["profile_json", "router"]

router = APIRouter(tags=["Observers' profiles"], default_response_class=StrictJSONResponse)


def profile_json(p: Observer) -> dict:
    """A profile as the API sends it (:class:`aphos_lib.web.models.service.Profile`)."""
    return {
        "username": p.username,
        "description": p.description,
        "created_at": p.created_at.isoformat(),
        **{k: getattr(p, k) for k in SITE_KEYS},
        "uploads": [{**u, "created_at": u["created_at"].isoformat()} for u in p.recent_uploads],
        "totals": p.upload_totals,
    }


@router.get(
    "/observers/{username}",
    response_model=ProfileBody,
    responses={200: {"content": {"text/html": {}}}, **service_errors(404)},
)
async def observer(username: str, request: Request, writer: Writer) -> Response:
    def read() -> Observer | None:
        with writer() as conn:
            return public_profile(conn, username)

    profile = await run_in_threadpool(read)
    if profile is None:
        raise HTTPException(404, f"no observer {username!r}")
    if "text/html" not in request.headers.get("accept", ""):
        return StrictJSONResponse(profile_json(profile))
    user = await maybe_signed_in(request)  # the hub is asked only for a page

    def page() -> str:
        with writer() as conn:
            mine = user is not None and profile_by_hub_user(conn, user.name)
            own = bool(mine) and mine.id == profile.id
            # Only the owner sees messages and reports.
            log = (
                list_uploads(conn, profile.id, limit=pages.LOG_UPLOADS, files=True) if own else None
            )
        return pages.public_profile_page(profile, own=own, log=log, signed_in=user is not None)

    return HTMLResponse(await run_in_threadpool(page))


@router.put(
    "/observers/{username}",
    response_model=SavedProfile,
    responses=service_errors(400, 401, 403, 404, 409),
)
def observer_update(
    username: str,
    body: Annotated[dict, Body()],
    user: SignedIn,
    settings: Settings,
    writer: Writer,
) -> Response:
    with writer() as conn:
        target = public_profile(conn, username, limit=0)
        mine = profile_by_hub_user(conn, user.name)
        if target is None:
            raise HTTPException(404, f"no observer {username!r}")
        if mine is None or mine.id != target.id:
            raise HTTPException(403, "only the owner may edit a profile")
        try:
            saved = save_profile(
                conn,
                user.name,
                body.get("username", target.username),
                body.get("description", target.description),
                {k: body[k] for k in SITE_KEYS if k in body},
            )
        except UsernameTaken as e:
            raise HTTPException(409, str(e)) from e
        except (InvalidUsername, InvalidSite) as e:
            raise HTTPException(400, str(e)) from e
    pub.rename_publisher(settings.published_dir, target.username, saved.username)
    return StrictJSONResponse(profile_json(saved))
