"""Request dependencies shared by the API's routers."""

# No "from __future__ import annotations": FastAPI reads the annotations at runtime.
import asyncio
from typing import Annotated

import psycopg
from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from psycopg_pool import PoolTimeout, TooManyRequests

__all__ = ["BUSY", "HeavyReader", "Reader"]

BUSY = "busy: other light curves are being computed; retry in a moment"


def _reader(request: Request):
    """A read-only connection from the application's pool, for one request."""
    with request.app.state.reader_pool.connection() as conn:
        yield conn


def _turns(state) -> asyncio.Semaphore:
    """The light curves' turns on the running event loop (a semaphore belongs to one loop)."""
    loop = asyncio.get_running_loop()
    turns = state.heavy_turns.get(loop)
    if turns is None:
        turns = state.heavy_turns[loop] = asyncio.Semaphore(state.heavy_pool.size)
    return turns


async def _heavy_reader(request: Request):
    """A read-only connection from the light curves' own few, or 503 after a short wait.

    Heavy requests take turns on their own connections, so that however many a client sends,
    the searches' pool stays free. A request waits for its turn on the event loop, not in a
    worker thread: a queue of waiting light curves holds none of the threads that searches
    and pages run in.
    """
    state = request.app.state
    turns = _turns(state)
    try:
        await asyncio.wait_for(turns.acquire(), state.heavy_wait)
    except TimeoutError:
        raise HTTPException(503, BUSY) from None
    try:
        pool = await run_in_threadpool(state.heavy_pool.pool)
        try:
            conn = await run_in_threadpool(pool.getconn, state.heavy_wait)
        except (PoolTimeout, TooManyRequests):
            raise HTTPException(503, BUSY) from None
        try:
            yield conn
        finally:
            await run_in_threadpool(pool.putconn, conn)
    finally:
        turns.release()


Reader = Annotated[psycopg.Connection, Depends(_reader)]
HeavyReader = Annotated[psycopg.Connection, Depends(_heavy_reader)]
