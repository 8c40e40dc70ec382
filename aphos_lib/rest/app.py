"""Wiring the REST API into a FastAPI application: connection pool, errors, routers."""

from __future__ import annotations

import contextlib

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from psycopg_pool import ConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.rest.compat import router as compat_router
from aphos_lib.rest.docs import add_docs
from aphos_lib.rest.errors import ContainErrors, error_response
from aphos_lib.rest.html import SecurityHeaders
from aphos_lib.rest.v2 import router as v2_router

__all__ = ["install"]


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg"))
    return "; ".join(parts) or "invalid request"


def install(
    app: FastAPI, catalogue: Catalogue | None = None, *, prefix: str = "", pool_size: int = 4
) -> None:
    """Add the REST API to ``app`` under ``prefix`` (e.g. ``/services/api``).

    Parameters
    ----------
    app : FastAPI
    catalogue : Catalogue, optional
        Where to read; by default ``Catalogue.from_environment()``. Requests use its
        read-only role through a pool of ``pool_size`` connections.
    prefix : str
        URL prefix of every route, without a trailing slash.
    """
    state = app.state

    def pool() -> ConnectionPool:
        # Opened on first use, so that creating the app never needs the database.
        if getattr(state, "_reader_pool", None) is None:
            cat = catalogue or Catalogue.from_environment(start=False)
            state._reader_pool = ConnectionPool(
                cat.conninfo("reader"), min_size=1, max_size=pool_size, open=True,
                kwargs={"autocommit": True}, check=ConnectionPool.check_connection,
            )  # fmt: skip
        return state._reader_pool

    class _LazyPool:
        def connection(self):
            return pool().connection()

        def close(self) -> None:
            if getattr(state, "_reader_pool", None) is not None:
                state._reader_pool.close()
                state._reader_pool = None

    state.reader_pool = _LazyPool()
    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application):
        async with previous(application) as value:
            try:
                yield value
            finally:
                state.reader_pool.close()

    app.router.lifespan_context = lifespan

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        response = error_response(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})  # e.g. "Connection: close" after a stall
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return error_response(400, _validation_message(exc))

    @app.exception_handler(psycopg.DataError)
    async def bad_value(request: Request, exc: Exception):
        # A value the database cannot hold (a NUL character, a number out of range).
        return error_response(400, "a parameter holds a value the catalogue cannot read")

    @app.exception_handler(psycopg.errors.QueryCanceled)
    async def too_slow(request: Request, exc: Exception):
        return error_response(503, "the query took too long; narrow the search")

    # Any other exception: a 500 with an id, and the connection stays usable (see errors).
    app.add_middleware(ContainErrors)
    # Outside it, so that its 500s get the headers too: a CSP on every HTML page.
    app.add_middleware(SecurityHeaders)

    app.include_router(compat_router, prefix=prefix)
    app.include_router(v2_router, prefix=prefix)
    add_docs(app, prefix)
