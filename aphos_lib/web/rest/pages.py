"""The service's browser pages and sign-in steps, kept out of the OpenAPI document.

- the service's root leads to the REST API's documentation;
- ``oauth_callback``: end of the hub's OAuth flow;
- ``welcome``: where the hub sends observers after sign-in: the profile form the first time,
  their workspace afterwards;
- ``upload``: the upload page's entry: sign in, choose a username when there is none yet,
  then the upload page in one's own server;
- ``signed-in``: signs the browser in to this service and says so (the upload page loads it
  in a hidden frame);
- ``GET/POST profile``: choose or edit one's own username, description and site, with one's upload
  log (``?next=upload``: a username is needed first, then on to the upload page).

The HTML itself is built by :mod:`aphos_lib.web.pages`.
"""

# No "from __future__ import annotations": FastAPI reads the endpoint signatures.
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aphos_lib.observers import InvalidSite, InvalidUsername
from aphos_lib.uploads.status import list_uploads
from aphos_lib.web import pages
from aphos_lib.web import published as pub
from aphos_lib.web.deps import MaybeSignedIn, Settings, SignedIn, Writer
from aphos_lib.web.profiles import SITE_KEYS, UsernameTaken, profile_by_hub_user, save_profile
from aphos_lib.web.service_auth import HubUser
from aphos_lib.web.settings import ApiSettings
from aphos_lib.web.xsrf import set_xsrf_cookie, xsrf_token

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


# The service's own root (the host a REST client is given, README) leads to its docs.
@router.get("/")
@router.get("")
def root(settings: Settings) -> Response:
    return RedirectResponse(f"{settings.prefix}api/docs", 302)


@router.get("/oauth_callback")
async def oauth_callback(request: Request, settings: Settings) -> Response:
    return await settings.auth.callback(request)


async def _profile_of(writer, user: HubUser):
    def lookup():
        with writer() as conn:
            return profile_by_hub_user(conn, user.name)

    return await run_in_threadpool(lookup)


@router.get("/welcome")
async def welcome(user: MaybeSignedIn, settings: Settings, writer: Writer) -> Response:
    if user is None:
        return settings.auth.login_redirect(f"{settings.prefix}welcome")
    profile = await _profile_of(writer, user)
    return RedirectResponse(f"{settings.prefix}profile" if profile is None else "/hub/home", 302)


@router.get("/upload")
async def upload_entry(user: MaybeSignedIn, settings: Settings, writer: Writer) -> Response:
    # The upload page itself runs in the observer's server and could only refuse a
    # sender without a username after Send: ask for the username before going there.
    if user is None:
        return settings.auth.login_redirect(f"{settings.prefix}upload")
    if await _profile_of(writer, user) is None:
        return RedirectResponse(f"{settings.prefix}profile?next=upload", 302)
    return RedirectResponse(pages.UPLOAD_PAGE, 302)


@router.get("/signed-in", response_class=HTMLResponse)
async def signed_in_page(user: MaybeSignedIn, settings: Settings) -> Response:
    # A fixed destination, not a "next" parameter: nothing here can redirect elsewhere.
    if user is None:
        return settings.auth.login_redirect(f"{settings.prefix}signed-in")
    return HTMLResponse(
        pages.page(
            "Signed in",
            "<p id='signed-in'>You are signed in to the "
            "archive's services. You may close this page.</p>",
        )
    )


def _form_response(
    request: Request,
    user: HubUser,
    settings: ApiSettings,
    writer,
    status: int = 200,
    **form,
) -> HTMLResponse:
    with writer() as conn:
        profile = profile_by_hub_user(conn, user.name)
        if profile is not None:
            form["log"] = list_uploads(conn, profile.id, limit=pages.LOG_UPLOADS, files=True)
    xsrf = xsrf_token(request)
    response = HTMLResponse(pages.profile_form(settings.prefix, xsrf, profile, **form), status)
    set_xsrf_cookie(response, xsrf, settings.prefix)
    return response


@router.get("/profile", response_class=HTMLResponse)
def profile_page(
    request: Request, user: MaybeSignedIn, settings: Settings, writer: Writer
) -> Response:
    next_page = pages.known_next_page(request.query_params.get("next"))
    if user is None:
        prefix = settings.prefix
        here = f"{prefix}profile?next={next_page}" if next_page else f"{prefix}profile"
        return settings.auth.login_redirect(here)
    return _form_response(request, user, settings, writer, next_page=next_page)


@router.post("/profile")
async def profile_save(
    request: Request, user: SignedIn, settings: Settings, writer: Writer
) -> Response:
    # The XSRF token came in the form's _xsrf field, checked before (aphos_lib.web.xsrf).
    body = (await request.body()).decode()
    # A site field left empty clears it (parse_qs drops empty values: keep them), one the form
    # did not send keeps its value.
    form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    username, description = form.get("username", "").strip(), form.get("description", "")
    site = {k: form[k] for k in SITE_KEYS if k in form}
    next_page = pages.known_next_page(form.get("next"))

    def save():
        with writer() as conn:
            before = profile_by_hub_user(conn, user.name)
            saved = save_profile(conn, user.name, username, description, site)
        if before is not None:
            pub.rename_publisher(settings.published_dir, before.username, saved.username)
        return saved

    try:
        saved = await run_in_threadpool(save)
    except (InvalidUsername, InvalidSite, UsernameTaken) as e:
        status, error = (409 if isinstance(e, UsernameTaken) else 400), str(e)
        refill = {"username": username, "description": description, "next_page": next_page}
        refill["site"] = site
        return await run_in_threadpool(
            _form_response, request, user, settings, writer, status, error=error, **refill
        )
    if next_page:
        return RedirectResponse(pages.NEXT_PAGES[next_page], 303)
    return RedirectResponse(f"{settings.prefix}observers/{saved.username}", 303)
