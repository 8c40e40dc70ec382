"""Wiring the REST API into a FastAPI application: connection pool, errors, routers."""

from __future__ import annotations

import contextlib
import threading
import weakref

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from psycopg_pool import ConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.web.rest.compat import router as compat_router
from aphos_lib.web.rest.docs import add_docs
from aphos_lib.web.rest.errors import ContainErrors, error_response
from aphos_lib.web.rest.html import SecurityHeaders
from aphos_lib.web.rest.v2 import router as v2_router

__all__ = ["install"]


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg"))
    return "; ".join(parts) or "invalid request"


# A request's query may run this long (seconds); the proxy in front waits far longer
# (aphos_lib.hub.configurer), so a slow query answers 503 before anything times out there.
STATEMENT_TIMEOUT = 15.0
# Light curves are the heavy requests: they get their own few connections, so that searches
# always find one free; beyond them a light curve waits this long (seconds), then answers 503.
HEAVY_POOL_SIZE = 2
HEAVY_WAIT = 5.0


def install(
    app: FastAPI,
    catalogue: Catalogue | None = None,
    *,
    prefix: str = "",
    pool_size: int = 4,
    heavy_pool_size: int = HEAVY_POOL_SIZE,
    heavy_wait: float = HEAVY_WAIT,
    statement_timeout: float = STATEMENT_TIMEOUT,
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
    heavy_pool_size, heavy_wait : int, float
        The connections light curves take turns on (their own pool, apart from the
        searches'), and how long one waits for a turn before it answers 503.
    statement_timeout : float
        Seconds a query may run before it is cancelled and the request answers 503.
    """
    state = app.state
    timeout_ms = max(1, round(statement_timeout * 1000))

    def configure(conn) -> None:
        # The reader role's own timeout is the catalogue's ceiling for every client; the API
        # answers well before the proxy in front of it gives up.
        conn.execute(f"SET statement_timeout = {timeout_ms}")

    def open_pool(size: int, name: str) -> ConnectionPool:
        cat = catalogue or Catalogue.from_environment(start=False)
        return ConnectionPool(
            cat.conninfo("reader"),
            min_size=1,
            max_size=size,
            open=True,
            name=name,
            kwargs={"autocommit": True},
            configure=configure,
            check=ConnectionPool.check_connection,
        )

    class _LazyPool:
        """A pool opened on first use, so that creating the app never needs the database."""

        def __init__(self, size: int, name: str) -> None:
            self.size, self.name, self._pool = size, name, None
            self._lock = threading.Lock()

        def pool(self) -> ConnectionPool:
            with self._lock:
                if self._pool is None:
                    self._pool = open_pool(self.size, self.name)
                return self._pool

        def connection(self):
            return self.pool().connection()

        def close(self) -> None:
            with self._lock:
                if self._pool is not None:
                    self._pool.close()
                    self._pool = None

    state.reader_pool = _LazyPool(pool_size, "reader")
    state.heavy_pool = _LazyPool(heavy_pool_size, "heavy")
    state.heavy_wait = heavy_wait
    # The light curves' turns, one semaphore per event loop (aphos_lib.web.rest.deps).
    state.heavy_turns = weakref.WeakKeyDictionary()
    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application):
        async with previous(application) as value:
            try:
                yield value
            finally:
                state.reader_pool.close()
                state.heavy_pool.close()

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
        return error_response(
            503,
            f"the query took longer than {statement_timeout:g} s and was stopped; "
            "narrow the search or use fewer stars",
        )

    # Any other exception: a 500 with an id, and the connection stays usable (see errors).
    app.add_middleware(ContainErrors)
    # Outside it, so that its 500s get the headers too: a CSP on every HTML page.
    app.add_middleware(SecurityHeaders)

    app.include_router(compat_router, prefix=prefix)
    app.include_router(v2_router, prefix=prefix)
    add_docs(app, prefix)
