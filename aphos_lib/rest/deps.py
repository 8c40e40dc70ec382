"""Request dependencies shared by the API's routers."""

# No "from __future__ import annotations": FastAPI reads the annotations at runtime.
from typing import Annotated

import psycopg
from fastapi import Depends, Request

__all__ = ["Reader"]


def _reader(request: Request):
    """A read-only connection from the application's pool, for one request."""
    with request.app.state.reader_pool.connection() as conn:
        yield conn


Reader = Annotated[psycopg.Connection, Depends(_reader)]
