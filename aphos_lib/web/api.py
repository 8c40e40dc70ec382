"""The ``api`` service (FastAPI) at ``/services/api/``: health, sign-in plumbing, profiles.

Run by the hub as ``python -m aphos_lib.web.api`` with the writer role's database login.
Routes:

- ``GET`` the service's root: to the REST API's documentation;
- ``api/...``: the catalogue's REST API (:mod:`aphos_lib.web.rest`: the original APhoS's
  endpoints, ``api/v2``, ``api/openapi.json`` and Swagger UI at ``api/docs``), public, read
  through the read-only role; ``api/users/current`` names the signed-in observer;
- ``api/v2/uploads...``: an observer's uploads, their jobs and reports
  (:mod:`aphos_lib.web.rest.uploads`), for the signed-in observer only;
- ``GET health``: the service and its database answer;
- ``GET oauth_callback``: end of the hub's OAuth flow (browsers);
- ``GET welcome``: where the hub sends observers after sign-in: the profile form the first
  time, their workspace afterwards;
- ``GET upload``: the upload page's entry (the links of the home and profile pages): sign in,
  choose a username when there is none yet, then the upload page in one's own server;
- ``GET/POST profile``: choose or edit one's own username and description, with one's
  upload log (``?next=upload``: a username is needed first, then on to the upload page);
- ``GET signed-in``: signs the browser in to this service and says so; the upload page loads
  it in a hidden frame when its browser has not been signed in here yet;
- ``GET observers/{username}``: a public profile with its uploads (HTML or JSON);
- ``PUT observers/{username}``: change a profile, only its owner;
- ``GET published``, ``GET published/{username}/{name}``: the published notebooks (public);
- ``PUT/DELETE published/{name}``: publish or withdraw one's own notebook
  (:mod:`aphos_lib.web.published`).
"""

# No "from __future__ import annotations": FastAPI must see the dependencies defined inside
# create_app when it reads the endpoint signatures.
import os
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Body, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from aphos_lib import queries
from aphos_lib.db.catalogue import Catalogue, aphos_home
from aphos_lib.observers import InvalidUsername
from aphos_lib.uploads.status import list_uploads
from aphos_lib.web import pages, rest
from aphos_lib.web import published as pub
from aphos_lib.web.profiles import (
    Profile,
    UsernameTaken,
    profile_by_hub_user,
    public_profile,
    save_profile,
)
from aphos_lib.web.rest.errors import ErrorMessage
from aphos_lib.web.rest.uploads import install_uploads
from aphos_lib.web.serve import serve_hub_service
from aphos_lib.web.service_auth import HubUser, ServiceAuth

__all__ = ["create_app", "main"]


def _profile_json(p: Profile) -> dict:
    return {
        "username": p.username,
        "description": p.description,
        "created_at": p.created_at.isoformat(),
        "uploads": [{**u, "created_at": u["created_at"].isoformat()} for u in p.uploads],
        "totals": p.totals,
    }


_WHY = {
    400: "The request is malformed (a name, a notebook, a username)",
    401: "Not signed in",
    403: "Not yours, or the form did not echo the XSRF cookie",
    404: "No such observer or notebook",
    409: "Taken, or choose a username first",
}


def _errors(*codes: int) -> dict:
    """OpenAPI responses of a route's error statuses: JSON ``{id, message}`` bodies."""
    return {c: {"model": ErrorMessage, "description": _WHY[c]} for c in codes}


def create_app(
    catalogue: Catalogue | None = None,
    auth: ServiceAuth | None = None,
    published_dir: Path | None = None,
) -> FastAPI:
    """The api service's application.

    Parameters
    ----------
    catalogue : Catalogue, optional
        Default: ``Catalogue.from_environment()`` (the writer's login, set by the hub).
    auth : ServiceAuth, optional
        Default: the hub OAuth client described by the ``JUPYTERHUB_*`` environment.
    published_dir : Path, optional
        The published area; default ``$APHOS_PUBLISHED_DIR``, else ``$APHOS_HOME/published``.
    """
    auth = auth or ServiceAuth()
    published = published_dir or Path(
        os.environ.get("APHOS_PUBLISHED_DIR") or aphos_home() / "published"
    )
    prefix = auth.prefix
    # The REST API brings its own documentation, served without a CDN, at {prefix}api/docs.
    app = FastAPI(title="APhoS API", root_path="", docs_url=None, redoc_url=None, openapi_url=None)
    state: dict = {}

    def cat() -> Catalogue:
        if "catalogue" not in state:
            state["catalogue"] = catalogue or Catalogue.from_environment(start=False)
        return state["catalogue"]

    async def current_username(request: Request) -> str | None:
        """The signed-in observer's public username (hub token or cookie), for the API."""
        user = await auth.user(request)
        if user is None:
            return None
        with cat().connect("writer") as conn:
            profile = profile_by_hub_user(conn, user.name)
        return profile.username if profile else None

    # The catalogue's REST API (the original APhoS's endpoints and /api/v2): public reads
    # through the read-only role.
    rest.install(app, catalogue, prefix=prefix.rstrip("/"))
    app.state.current_username = current_username
    install_uploads(app, auth, lambda: cat().connect("writer"))

    async def current_user(request: Request) -> HubUser:
        return await auth.require(request)

    # The service's own root (the host a REST client is given, README) leads to its docs.
    @app.get(prefix, include_in_schema=False)
    @app.get(prefix.rstrip("/"), include_in_schema=False)
    def root():
        return RedirectResponse(f"{prefix}api/docs", 302)

    @app.get(f"{prefix}health")
    def health() -> dict:
        with cat().connect("writer") as conn:
            queries.service.ping().one(conn)
        return {"status": "ok", "service": "api", "database": "ok"}

    # Sign-in and the profile form are browser pages, not API: kept out of the OpenAPI document.
    @app.get(f"{prefix}oauth_callback", include_in_schema=False)
    async def oauth_callback(request: Request):
        return await auth.callback(request)

    @app.get(f"{prefix}welcome", include_in_schema=False)
    async def welcome(request: Request):
        user = await auth.user(request)
        if user is None:
            return auth.login_redirect(f"{prefix}welcome")
        with cat().connect("writer") as conn:
            profile = profile_by_hub_user(conn, user.name)
        return RedirectResponse(f"{prefix}profile" if profile is None else "/hub/home", 302)

    @app.get(f"{prefix}upload", include_in_schema=False)
    async def upload_entry(request: Request):
        # The upload page itself runs in the observer's server and could only refuse a
        # sender without a username after Send: ask for the username before going there.
        user = await auth.user(request)
        if user is None:
            return auth.login_redirect(f"{prefix}upload")
        with cat().connect("writer") as conn:
            profile = profile_by_hub_user(conn, user.name)
        if profile is None:
            return RedirectResponse(f"{prefix}profile?next=upload", 302)
        return RedirectResponse(pages.UPLOAD_PAGE, 302)

    @app.get(f"{prefix}signed-in", response_class=HTMLResponse, include_in_schema=False)
    async def signed_in(request: Request):
        # A fixed destination, not a "next" parameter: nothing here can redirect elsewhere.
        if await auth.user(request) is None:
            return auth.login_redirect(f"{prefix}signed-in")
        return HTMLResponse(
            pages.page(
                "Signed in",
                "<p id='signed-in'>You are signed in to the "
                "archive's services. You may close this page.</p>",
            )
        )

    def form_response(request: Request, user: HubUser, status: int = 200, **form) -> HTMLResponse:
        with cat().connect("writer") as conn:
            profile = profile_by_hub_user(conn, user.name)
            if profile is not None:
                form["log"] = list_uploads(conn, profile.id, limit=pages.LOG_UPLOADS, files=True)
        xsrf = auth.xsrf_token(request)
        response = HTMLResponse(pages.profile_form(prefix, xsrf, profile, **form), status)
        auth.set_xsrf_cookie(response, xsrf)
        return response

    @app.get(f"{prefix}profile", response_class=HTMLResponse, include_in_schema=False)
    async def profile_page(request: Request):
        next_page = pages.known_next_page(request.query_params.get("next"))
        user = await auth.user(request)
        if user is None:
            here = f"{prefix}profile?next={next_page}" if next_page else f"{prefix}profile"
            return auth.login_redirect(here)
        return form_response(request, user, next_page=next_page)

    @app.post(f"{prefix}profile", include_in_schema=False)
    async def profile_save(request: Request, user: Annotated[HubUser, Depends(current_user)]):
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        auth.check_xsrf(request, user, form.get("_xsrf"))
        username, description = form.get("username", "").strip(), form.get("description", "")
        next_page = pages.known_next_page(form.get("next"))
        try:
            with cat().connect("writer") as conn:
                before = profile_by_hub_user(conn, user.name)
                saved = save_profile(conn, user.name, username, description)
            if before is not None:
                pub.rename_publisher(published, before.username, saved.username)
        except (InvalidUsername, UsernameTaken) as e:
            status = 409 if isinstance(e, UsernameTaken) else 400
            return form_response(
                request,
                user,
                status,
                username=username,
                description=description,
                error=str(e),
                next_page=next_page,
            )
        if next_page:
            return RedirectResponse(pages.NEXT_PAGES[next_page], 303)
        return RedirectResponse(f"{prefix}observers/{saved.username}", 303)

    @app.get(f"{prefix}observers/{{username}}", responses=_errors(404))
    async def observer(username: str, request: Request):
        with cat().connect("writer") as conn:
            profile = public_profile(conn, username)
        if profile is None:
            raise HTTPException(404, f"no observer {username!r}")
        if "text/html" in request.headers.get("accept", ""):
            user = await auth.user(request)
            with cat().connect("writer") as conn:
                mine = user is not None and profile_by_hub_user(conn, user.name)
            own = bool(mine) and mine.id == profile.id
            log = None
            if own:  # only the owner sees messages and reports
                with cat().connect("writer") as conn:
                    log = list_uploads(conn, profile.id, limit=pages.LOG_UPLOADS, files=True)
            return HTMLResponse(
                pages.public_profile_page(profile, own=own, log=log, signed_in=user is not None)
            )
        return JSONResponse(_profile_json(profile))

    @app.put(f"{prefix}observers/{{username}}", responses=_errors(400, 401, 403, 404, 409))
    def observer_update(
        username: str,
        request: Request,
        body: Annotated[dict, Body()],
        user: Annotated[HubUser, Depends(current_user)],
    ):
        auth.check_xsrf(request, user, request.headers.get("x-xsrftoken"))
        with cat().connect("writer") as conn:
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
                )
            except UsernameTaken as e:
                raise HTTPException(409, str(e)) from e
            except InvalidUsername as e:
                raise HTTPException(400, str(e)) from e
        pub.rename_publisher(published, target.username, saved.username)
        return _profile_json(saved)

    @app.get(f"{prefix}published")
    def published_list() -> list[dict]:
        return pub.list_published(published)

    @app.get(f"{prefix}published/{{username}}/{{name}}", responses=_errors(400, 404))
    def published_get(username: str, name: str):
        try:
            data = pub.read_published(published, username, name)
        except pub.InvalidNotebook as e:
            raise HTTPException(400, str(e)) from e
        if data is None:
            raise HTTPException(404, f"{username} has not published {name}")
        return Response(data, media_type="application/x-ipynb+json")

    def publisher(user: HubUser) -> str:
        with cat().connect("writer") as conn:
            mine = profile_by_hub_user(conn, user.name)
        if mine is None:
            raise HTTPException(409, f"choose a username first: {prefix}profile")
        return mine.username

    @app.put(f"{prefix}published/{{name}}", responses=_errors(400, 401, 403, 409))
    async def published_put(
        name: str, request: Request, user: Annotated[HubUser, Depends(current_user)]
    ):
        auth.check_xsrf(request, user, request.headers.get("x-xsrftoken"))
        username = publisher(user)
        try:
            pub.publish(published, username, name, await request.body())
        except pub.InvalidNotebook as e:
            raise HTTPException(400, str(e)) from e
        return {"username": username, "name": name, "url": f"{prefix}published/{username}/{name}"}

    @app.delete(
        f"{prefix}published/{{name}}", status_code=204, responses=_errors(400, 401, 403, 404, 409)
    )
    def published_delete(
        name: str, request: Request, user: Annotated[HubUser, Depends(current_user)]
    ):
        auth.check_xsrf(request, user, request.headers.get("x-xsrftoken"))
        try:
            removed = pub.unpublish(published, publisher(user), name)
        except pub.InvalidNotebook as e:
            raise HTTPException(400, str(e)) from e
        if not removed:
            raise HTTPException(404, f"you have not published {name}")
        return Response(status_code=204)

    return app


def main() -> None:
    """Serve on the address the hub gave this service (``JUPYTERHUB_SERVICE_URL``)."""
    serve_hub_service(create_app(), "http://127.0.0.1:8003")


if __name__ == "__main__":
    main()
