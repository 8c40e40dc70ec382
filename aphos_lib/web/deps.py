"""The routes' dependencies: the settings, the reader, the writer, who is signed in.

Every route gets what it needs through these (FastAPI ``Depends``), from the application
:func:`aphos_lib.web.app.create_app` built; none reads the environment or holds a global.

- :data:`Reader`, :data:`HeavyReader`: a read-only connection from a pool (light curves
  from their own few, see :func:`_heavy_reader`);
- :data:`Writer`: opens connections as the writer role (``with writer() as conn``);
- :data:`SignedIn`: the signed-in hub user, else 401; :data:`MaybeSignedIn`: or None;
- :data:`CurrentObserver`: the signed-in observer's profile, else 401, or 409 before they
  chose a username;
- :data:`CurrentUsername`: that observer's username, or None.

The XSRF check is a dependency of the whole application: :mod:`aphos_lib.web.xsrf`.
"""

# No "from __future__ import annotations": FastAPI reads the annotations at runtime.
import asyncio
from collections.abc import Callable
from typing import Annotated

import psycopg
from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from psycopg_pool import PoolTimeout, TooManyRequests

from aphos_lib.observers import Observer
from aphos_lib.web.profiles import profile_by_hub_user
from aphos_lib.web.service_auth import HubUser
from aphos_lib.web.settings import ApiSettings

__all__ = [
    "BUSY",
    "CurrentObserver",
    "CurrentUsername",
    "HeavyReader",
    "MaybeSignedIn",
    "Reader",
    "Settings",
    "SignedIn",
    "Writer",
    "current_observer",
    "current_username",
    "maybe_signed_in",
    "settings_of",
    "signed_in",
]

BUSY = "busy: other light curves are being computed; retry in a moment"
NOT_SIGNED_IN = "sign in through the hub first"


def settings_of(request: Request) -> ApiSettings:
    """The settings the application was built with."""
    return request.app.state.settings


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
    wait = settings_of(request).heavy_wait
    turns = _turns(state)
    try:
        await asyncio.wait_for(turns.acquire(), wait)
    except TimeoutError:
        raise HTTPException(503, BUSY) from None
    try:
        pool = await run_in_threadpool(state.heavy_pool.pool)
        try:
            conn = await run_in_threadpool(pool.getconn, wait)
        except (PoolTimeout, TooManyRequests):
            raise HTTPException(503, BUSY) from None
        try:
            yield conn
        finally:
            await run_in_threadpool(pool.putconn, conn)
    finally:
        turns.release()


def _writer(request: Request) -> Callable[[], psycopg.Connection]:
    """Opens a new connection as the writer role; each ``with`` block commits on success."""
    catalogue = settings_of(request).open_catalogue()
    return lambda: catalogue.connect("writer")


async def maybe_signed_in(request: Request) -> HubUser | None:
    """The signed-in hub user (hub token or cookie), or None; asked of the hub once a request."""
    auth = settings_of(request).auth
    if auth is None:
        return None
    if not hasattr(request.state, "hub_user"):
        request.state.hub_user = await auth.user(request)
    return request.state.hub_user


async def signed_in(request: Request) -> HubUser:
    """The signed-in hub user, or 401."""
    user = await maybe_signed_in(request)
    if user is None:
        raise HTTPException(401, NOT_SIGNED_IN)
    return user


async def _profile(request: Request, user: HubUser) -> Observer | None:
    connect = _writer(request)

    def lookup() -> Observer | None:
        with connect() as conn:
            return profile_by_hub_user(conn, user.name)

    return await run_in_threadpool(lookup)


async def current_observer(request: Request) -> Observer:
    """The signed-in observer's profile: 401 when nobody is signed in, 409 before they chose
    a username (the message says where to choose it)."""
    profile = await _profile(request, await signed_in(request))
    if profile is None:
        raise HTTPException(409, f"choose a username first: {settings_of(request).prefix}profile")
    return profile


async def current_username(request: Request) -> str | None:
    """The signed-in observer's public username, or None (nobody, or no username yet)."""
    user = await maybe_signed_in(request)
    if user is None:
        return None
    profile = await _profile(request, user)
    return profile.username if profile else None


Settings = Annotated[ApiSettings, Depends(settings_of)]
Reader = Annotated[psycopg.Connection, Depends(_reader)]
HeavyReader = Annotated[psycopg.Connection, Depends(_heavy_reader)]
Writer = Annotated[Callable[[], psycopg.Connection], Depends(_writer)]
MaybeSignedIn = Annotated[HubUser | None, Depends(maybe_signed_in)]
SignedIn = Annotated[HubUser, Depends(signed_in)]
CurrentObserver = Annotated[Observer, Depends(current_observer)]
CurrentUsername = Annotated[str | None, Depends(current_username)]
