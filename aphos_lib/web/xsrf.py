"""The XSRF check: a change made with the browser's cookie must echo the ``_xsrf`` cookie.

A page of another site can make a browser send a request with the service's cookie, but it
cannot read the service's ``_xsrf`` cookie (httponly) nor its pages, so it cannot echo the
token. A request signed in by a hub token in a header is not checked: another site's page
cannot send that header.

:func:`require_xsrf` is a dependency of the whole application
(``FastAPI(dependencies=[Depends(require_xsrf)])`` in :func:`aphos_lib.web.app.create_app`),
so every route has it, whichever router it comes from; it lets the safe methods (GET, HEAD,
OPTIONS) through and checks every other. :func:`write_routes_without_xsrf` proves it of a
built application. The token is taken from the ``X-XSRFToken`` header, the ``_xsrf`` query
parameter, or the ``_xsrf`` field of a small urlencoded form (the profile form).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from urllib.parse import parse_qs

from fastapi import HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route

from aphos_lib.web.deps import signed_in

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # FastAPI before 0.16x listed included routes flat in app.routes

    def iter_route_contexts(routes: Sequence[BaseRoute]) -> Sequence[BaseRoute]:
        return routes


__all__ = [
    "SAFE_METHODS",
    "XSRF_COOKIE",
    "require_xsrf",
    "set_xsrf_cookie",
    "tokens_match",
    "write_routes_without_xsrf",
    "xsrf_token",
]

XSRF_COOKIE = "_xsrf"
XSRF_HEADER = "x-xsrftoken"
XSRF_FAILED = "XSRF check failed: reload the form and try again"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A form larger than this is not read for its token (the profile form is a few KB; an upload
# is multipart and streams): a forged request cannot make the service hold a large body.
FORM_LIMIT = 64 * 1024
_FORM = "application/x-www-form-urlencoded"


def xsrf_token(request: Request) -> str:
    """The browser's XSRF token (made when it has none; see :func:`set_xsrf_cookie`)."""
    return request.cookies.get(XSRF_COOKIE) or secrets.token_urlsafe(24)


def set_xsrf_cookie(response, token: str, path: str) -> None:
    """Keep the XSRF token in the cookie (for the service's ``path``) a change must echo."""
    response.set_cookie(XSRF_COOKIE, token, httponly=True, samesite="strict", path=path)


def tokens_match(cookie: str | None, submitted: str | None) -> bool:
    """Whether a submitted token echoes the cookie (compared in constant time).

    Examples
    --------
    >>> tokens_match("abc", "abc"), tokens_match("abc", "abd"), tokens_match("", "")
    (True, False, False)
    >>> tokens_match("abc", None)
    False
    """
    return bool(cookie) and bool(submitted) and hmac.compare_digest(cookie, submitted)


async def _submitted(request: Request) -> str | None:
    """The token the request echoes: header, query parameter, or small urlencoded form."""
    token = request.headers.get(XSRF_HEADER) or request.query_params.get("_xsrf")
    if token:
        return token
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    size = request.headers.get("content-length", "")
    if kind == _FORM and size.isdigit() and int(size) <= FORM_LIMIT:
        # request.body() keeps the body, which the route then reads again (request.form()
        # would consume the stream).
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        return form.get("_xsrf", [None])[0] or None
    return None


async def require_xsrf(request: Request) -> None:
    """Refuse (403) a change by cookie that does not echo the XSRF cookie; 401 for nobody.

    Safe methods pass unchecked, signed in or not. A change needs a signed-in user first:
    answered 401 otherwise, before anything is checked or read.
    """
    if request.method in SAFE_METHODS:
        return
    user = await signed_in(request)
    if not user.by_cookie:
        return  # a token in a header cannot be sent by another site's page
    if not tokens_match(request.cookies.get(XSRF_COOKIE, ""), await _submitted(request)):
        raise HTTPException(403, XSRF_FAILED)


def _has_xsrf(dependant: Dependant | None) -> bool:
    pending = [dependant] if dependant is not None else []
    while pending:
        dependant = pending.pop()
        if dependant.call is require_xsrf:
            return True
        pending.extend(dependant.dependencies)
    return False


def write_routes_without_xsrf(routes: Sequence[BaseRoute]) -> list[str]:
    """``"METHOD path"`` of every route that can change something but is not XSRF-checked.

    ``routes`` are an application's (``app.routes``), included routers walked into. A route
    that answers any method beyond :data:`SAFE_METHODS` must be a FastAPI route with
    :func:`require_xsrf` among its dependencies; a plain Starlette route has no dependencies,
    so it may only answer safe methods.
    """
    missing = []
    for route in iter_route_contexts(routes):
        original = getattr(route, "original_route", route)
        if not isinstance(original, Route):
            continue  # mounts (static files) and websockets answer no form or API write
        writes = sorted(set(route.methods or ()) - SAFE_METHODS)
        guarded = isinstance(original, APIRoute) and _has_xsrf(route.dependant)
        if writes and not guarded:
            missing += [f"{method} {route.path}" for method in writes]
    return missing
