"""Request dependencies shared by the API's routers."""

# No "from __future__ import annotations": FastAPI reads the annotations at runtime.
from typing import Annotated

import psycopg
from fastapi import Depends, HTTPException, Request
from psycopg_pool import PoolTimeout, TooManyRequests

__all__ = ["BUSY", "HeavyReader", "Reader"]

BUSY = "busy: other light curves are being computed; retry in a moment"


def _reader(request: Request):
    """A read-only connection from the application's pool, for one request."""
    with request.app.state.reader_pool.connection() as conn:
        yield conn


def _heavy_reader(request: Request):
    """A read-only connection from the light curves' own few, or 503 after a short wait.

    Heavy requests take turns on their own connections, so that however many a client sends,
    the searches' pool stays free.
    """
    state = request.app.state
    pool = state.heavy_pool.pool()
    try:
        conn = pool.getconn(timeout=state.heavy_wait)
    except (PoolTimeout, TooManyRequests):
        raise HTTPException(503, BUSY) from None
    try:
        yield conn
    finally:
        pool.putconn(conn)


Reader = Annotated[psycopg.Connection, Depends(_reader)]
HeavyReader = Annotated[psycopg.Connection, Depends(_heavy_reader)]
