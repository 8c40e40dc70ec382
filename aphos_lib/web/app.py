"""The api service's application, built once by :func:`create_app` from its settings.

One lifespan (:func:`lifespan`), the error handlers, the middleware, and the routers, each
defined at module level in :mod:`aphos_lib.web.rest`:

- always (the public catalogue API): ``compat`` (the original APhoS's endpoints), ``v2``
  and ``docs`` (``api/openapi.json``, Swagger UI at ``api/docs``);
- with a sign-in (the hub's ``api`` service): ``uploads``, ``profiles``, ``published``,
  ``pages`` and ``health``.

Every route depends on :func:`aphos_lib.web.xsrf.require_xsrf`, given to the application
itself, so no route that changes something can miss the check; :func:`create_app` refuses to
build an application where one does.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import AsyncIterator

import psycopg
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from aphos_lib.web.pools import LazyPool
from aphos_lib.web.rest import compat, docs, health, pages, profiles, published, uploads, v2
from aphos_lib.web.rest.errors import ContainErrors, error_response
from aphos_lib.web.rest.html import SecurityHeaders
from aphos_lib.web.settings import ApiSettings
from aphos_lib.web.xsrf import require_xsrf, write_routes_without_xsrf

__all__ = ["create_app", "lifespan"]

PUBLIC_ROUTERS = (compat.router, v2.router, docs.router)
SIGNED_IN_ROUTERS = (
    uploads.router,
    profiles.router,
    published.router,
    pages.router,
    health.router,
)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The service's start and end: abandoned uploads cleaned away, the pools closed."""
    settings: ApiSettings = app.state.settings
    if settings.auth is not None:
        catalogue = settings.open_catalogue()
        # In a thread: the service answers at once, and serves even when this fails.
        threading.Thread(
            target=uploads.clean_abandoned,
            args=(lambda: catalogue.connect("writer"),),
            name="upload-cleanup",
            daemon=True,
        ).start()
    try:
        yield
    finally:
        app.state.reader_pool.close()
        app.state.heavy_pool.close()


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg"))
    return "; ".join(parts) or "invalid request"


def _add_error_handlers(app: FastAPI, statement_timeout: float) -> None:
    """Every error as JSON ``{id, message}`` (:mod:`aphos_lib.web.rest.errors`)."""

    async def http_error(request: Request, exc: StarletteHTTPException):
        response = error_response(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})  # e.g. "Connection: close" after a stall
        return response

    async def validation_error(request: Request, exc: RequestValidationError):
        return error_response(400, _validation_message(exc))

    async def bad_value(request: Request, exc: Exception):
        # A value the database cannot hold (a NUL character, a number out of range).
        return error_response(400, "a parameter holds a value the catalogue cannot read")

    async def too_slow(request: Request, exc: Exception):
        return error_response(
            503,
            f"the query took longer than {statement_timeout:g} s and was stopped; "
            "narrow the search or use fewer stars",
        )

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(psycopg.DataError, bad_value)
    app.add_exception_handler(psycopg.errors.QueryCanceled, too_slow)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The api service's application.

    Parameters
    ----------
    settings : ApiSettings, optional
        By default :meth:`ApiSettings.from_environment` (the hub's ``api`` service). Without
        ``settings.auth`` the application is the public catalogue API alone.

    Returns
    -------
    FastAPI
        Serve it with uvicorn; nothing touches the database before the first request.

    Examples
    --------
    >>> app = create_app(ApiSettings())
    >>> "/api/v2/lightcurve" in app.openapi()["paths"]
    True
    >>> write_routes_without_xsrf(app.routes)
    []
    """
    settings = settings or ApiSettings.from_environment()
    # The REST API brings its own documentation, served without a CDN, at {prefix}api/docs.
    app = FastAPI(
        title="APhoS API",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        dependencies=[Depends(require_xsrf)],
    )
    state = app.state
    state.settings = settings
    timeout = settings.statement_timeout
    state.reader_pool = LazyPool(settings.open_catalogue, settings.pool_size, "reader", timeout)
    state.heavy_pool = LazyPool(settings.open_catalogue, settings.heavy_pool_size, "heavy", timeout)
    # The light curves' turns, one semaphore per event loop (aphos_lib.web.deps).
    state.heavy_turns = weakref.WeakKeyDictionary()

    _add_error_handlers(app, timeout)
    # Any other exception: a 500 with an id, and the connection stays usable (see errors).
    app.add_middleware(ContainErrors)
    # Outside it, so that its 500s get the headers too: a CSP on every HTML page.
    app.add_middleware(SecurityHeaders)

    routers = PUBLIC_ROUTERS + (SIGNED_IN_ROUTERS if settings.auth is not None else ())
    for router in routers:
        app.include_router(router, prefix=settings.route_prefix)
    docs.mount_static(app, settings.route_prefix)
    unguarded = write_routes_without_xsrf(app.routes)
    if unguarded:
        raise RuntimeError(f"routes that change something without the XSRF check: {unguarded}")
    return app
