"""Uploads through the API: send SIPS files, follow their ingest job, read its report.

For signed-in observers only (hub token in ``Authorization: token ...``, or the hub cookie with
the ``X-XSRFToken`` header); installed by the ``api`` service (:mod:`aphos_lib.web.api`):

- ``POST /api/v2/uploads``: multipart, one or many ``files`` (and an optional ``client``
  field); answered 202 with the upload's id, its job's id and where to follow it;
- ``GET /api/v2/uploads``: the observer's uploads, newest first, paged, with counts;
- ``GET /api/v2/uploads/session``: what a page needs to send files with the browser's sign-in:
  the XSRF token (also set as the cookie it must match), the username (null: none chosen yet,
  with where to choose it) and the limits;
- ``GET /api/v2/uploads/{id}``: state, progress (files_done / files_total), each file's outcome;
- ``GET /api/v2/uploads/{id}/report``: the job's executed notebook (``.ipynb``, or with
  ``format=html`` a page to read: its text and outputs without the code,
  :mod:`aphos_lib.uploads.report_html`).

Another observer's upload answers 404, as a missing one does. Limits, from the environment:
``APHOS_UPLOAD_MAX_BYTES`` per file (default 20 MB, answered 413 storing nothing),
``APHOS_UPLOAD_MAX_IN_FLIGHT`` jobs queued or running per observer (default 4, answered 429),
``APHOS_UPLOAD_MAX_FILES`` per upload (default 500), ``APHOS_UPLOAD_IDLE_TIMEOUT`` seconds
without any part of the body arriving (default 60, answered 408 storing nothing).
"""

# No "from __future__ import annotations": FastAPI reads the endpoint signatures.
import asyncio
import contextlib
import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Literal

import psycopg
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from aphos_lib.uploads.cleanup import remove_abandoned
from aphos_lib.uploads.receive import FileTooLarge, MultipartFiles, UploadRejected, UploadStalled
from aphos_lib.uploads.records import (
    TooManyInFlight,
    check_in_flight,
    record_upload,
    reserve_upload_id,
)
from aphos_lib.uploads.report_html import report_page
from aphos_lib.uploads.status import list_uploads, report_file, upload_status
from aphos_lib.web.profiles import profile_by_hub_user
from aphos_lib.web.rest.errors import ErrorMessage
from aphos_lib.web.rest.jsonout import StrictJSONResponse
from aphos_lib.web.service_auth import HubUser, ServiceAuth

__all__ = ["UploadLimits", "install_uploads"]

log = logging.getLogger("aphos_lib.web.rest")
_CLIENT = re.compile(r"[a-z][a-z0-9_-]{0,31}")


class UploadLimits:
    """The limits in force, read from the environment when the service starts."""

    def __init__(
        self,
        max_bytes: int | None = None,
        max_in_flight: int | None = None,
        max_files: int | None = None,
        idle_timeout: float | None = None,
    ):
        env = os.environ.get
        self.max_bytes = max_bytes or int(env("APHOS_UPLOAD_MAX_BYTES") or 20 * 2**20)
        self.max_in_flight = max_in_flight or int(env("APHOS_UPLOAD_MAX_IN_FLIGHT") or 4)
        self.max_files = max_files or int(env("APHOS_UPLOAD_MAX_FILES") or 500)
        # Seconds without a byte of the body: a stalled client's partial files go then.
        self.idle_timeout = idle_timeout or float(env("APHOS_UPLOAD_IDLE_TIMEOUT") or 60)

    @property
    def max_body(self) -> int:
        """The largest body an accepted upload can have (multipart overhead included)."""
        return self.max_files * (self.max_bytes + 4096) + 65536


def _errors(*codes: int) -> dict:
    why = {
        400: "Not a multipart upload of files, or a parameter is wrong",
        401: "Not signed in",
        404: "No such upload of yours",
        408: "The body stalled (no data for the idle timeout); nothing was stored",
        409: "Choose a username first",
        413: "A file is over the size limit; nothing was stored",
        429: "Too many of your uploads are still waiting or being stored",
    }
    return {c: {"model": ErrorMessage, "description": why[c]} for c in codes}


_MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "SIPS exports (.csv); the names are kept as metadata",
                        },
                        "client": {
                            "type": "string",
                            "description": "what sends them, e.g. notebook",
                        },
                    },
                }
            }
        },
    }
}


async def _chunks(request: Request, idle_timeout: float) -> AsyncIterator[bytes]:
    """The body's chunks; :class:`UploadStalled` when none arrives for ``idle_timeout`` s."""
    # A client that stalls without closing would otherwise hold the request, and the partial
    # files written so far, until it goes away, possibly never.
    stream = request.stream()
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                chunk = await anext(stream)
        except StopAsyncIteration:
            return
        except TimeoutError:
            message = f"the upload stalled: no data for {idle_timeout:g} s; nothing was stored"
            raise UploadStalled(message) from None
        yield chunk


async def _drain(request: Request, idle_timeout: float) -> dict[str, str] | None:
    # Read what the client still sends, so it gets the answer instead of a broken connection.
    # A stalled one gets it at once, and the connection is closed after it: the headers to send.
    try:
        async for _ in _chunks(request, idle_timeout):
            pass
    except UploadStalled:
        return {"Connection": "close"}
    return None


def install_uploads(
    app: FastAPI,
    auth: ServiceAuth,
    writer: Callable[[], psycopg.Connection],
    *,
    limits: UploadLimits | None = None,
) -> None:
    """Add the upload endpoints to the api service's ``app``.

    Parameters
    ----------
    app : FastAPI
        The application, with the REST API's error handlers (:func:`aphos_lib.web.rest.install`).
    auth : ServiceAuth
        Who is signed in (hub token or cookie).
    writer : callable
        Returns a new connection as the writer role (used as a context manager).
    limits : UploadLimits, optional
        By default read from the environment.
    """
    limits = limits or UploadLimits()
    base = f"{auth.prefix.rstrip('/')}/api/v2/uploads"
    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application):
        def clean() -> None:
            try:
                with writer() as conn:
                    removed = remove_abandoned(conn)
                if removed:
                    log.info("removed the files of %d abandoned uploads", len(removed))
            except Exception:  # the service serves anyway; the next start tries again
                log.exception("cleaning up abandoned uploads failed")

        # Files a killed request left behind, once the service starts again.
        threading.Thread(target=clean, name="upload-cleanup", daemon=True).start()
        async with previous(application) as value:
            yield value

    app.router.lifespan_context = lifespan
    router = APIRouter(
        prefix=base,
        tags=["Uploads (signed-in observers)"],
        default_response_class=StrictJSONResponse,
    )

    async def observer_id(request: Request) -> int:
        user: HubUser = await auth.require(request)
        if request.method not in ("GET", "HEAD"):
            auth.check_xsrf(
                request,
                user,
                request.headers.get("x-xsrftoken") or request.query_params.get("_xsrf"),
            )

        def lookup():
            with writer() as conn:
                return profile_by_hub_user(conn, user.name)

        profile = await run_in_threadpool(lookup)
        if profile is None:
            raise HTTPException(409, f"choose a username first: {auth.prefix}profile")
        return profile.id

    Observer = Annotated[int, Depends(observer_id)]

    def urls(upload_id: int) -> dict:
        return {"status_url": f"{base}/{upload_id}", "report_url": f"{base}/{upload_id}/report"}

    @router.post(
        "",
        status_code=202,
        summary="Send SIPS files to be stored (one job)",
        openapi_extra=_MULTIPART_BODY,
        responses=_errors(400, 401, 408, 409, 413, 429),
    )
    async def create_upload(request: Request, observer: Observer) -> dict:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_body:
            # Far more than any accepted upload: refused without reading it.
            raise HTTPException(
                413,
                f"at most {limits.max_files} files of {limits.max_bytes / 2**20:g} MB per upload",
            )

        def reserve() -> int:
            with writer() as conn:
                check_in_flight(conn, observer, limits.max_in_flight)  # before reading files
                return reserve_upload_id(conn)

        try:
            upload_id = await run_in_threadpool(reserve)
            receiver = MultipartFiles(
                request.headers.get("content-type", ""),
                upload_id,
                max_bytes=limits.max_bytes,
                max_files=limits.max_files,
            )
        except (TooManyInFlight, UploadRejected) as e:
            closing = await _drain(request, limits.idle_timeout)
            status = 429 if isinstance(e, TooManyInFlight) else 400
            raise HTTPException(status, str(e), headers=closing) from None
        recorded = False
        try:
            async for chunk in _chunks(request, limits.idle_timeout):
                receiver.feed(chunk)
            files = receiver.finish()
            client = receiver.fields.get("client", "api")

            def record() -> int:
                nonlocal recorded
                with writer() as conn:
                    job = record_upload(
                        conn,
                        upload_id,
                        observer,
                        files,
                        max_in_flight=limits.max_in_flight,
                        client=client if _CLIENT.fullmatch(client) else "api",
                    )
                # Committed: the job owns the files now. Set here, not after the await, which a
                # client that goes away cancels once the thread is done.
                recorded = True
                return job

            job_id = await run_in_threadpool(record)
        except UploadStalled as e:
            # The rest of the body may never come: the connection cannot serve another request.
            raise HTTPException(408, str(e), headers={"Connection": "close"}) from None
        except FileTooLarge as e:
            raise HTTPException(413, str(e)) from None
        except TooManyInFlight as e:
            raise HTTPException(429, str(e)) from None
        except UploadRejected as e:
            raise HTTPException(400, str(e)) from None
        finally:
            # Nothing of a refused, stalled, disconnected or failed upload stays on disk; the
            # files are removed before the answer is sent.
            if not recorded:
                receiver.discard()
        return {
            "upload_id": upload_id,
            "job_id": job_id,
            **urls(upload_id),
            "files": [
                {
                    "position": f.position,
                    "filename": f.filename,
                    "size_bytes": f.size_bytes,
                    "sha256": f.sha256.hex(),
                }
                for f in files
            ],
        }

    @router.get(
        "/session",
        summary="What a page needs to send files from the browser",
        responses=_errors(401),
    )
    async def session(request: Request) -> Response:
        # Declared before "/{upload_id}", which would answer "session" with a 400.
        # The upload page posts from the browser with the hub cookie: its script cannot read
        # the XSRF cookie (httponly), so it asks here. Another site's page cannot read this
        # answer (same-origin policy), which is what keeps the token secret from it.
        user: HubUser = await auth.require(request)

        def lookup():
            with writer() as conn:
                return profile_by_hub_user(conn, user.name)

        profile = await run_in_threadpool(lookup)
        xsrf = auth.xsrf_token(request)
        response = StrictJSONResponse(
            {
                "username": profile.username if profile else None,
                "profile_url": f"{auth.prefix}profile",
                "upload_url": base,
                "xsrf": xsrf,
                "max_files": limits.max_files,
                "max_bytes": limits.max_bytes,
            },
            headers={"Cache-Control": "no-store"},
        )
        auth.set_xsrf_cookie(response, xsrf)
        return response

    @router.get(
        "",
        summary="My uploads, newest first, with counts and messages",
        responses=_errors(400, 401, 409),
    )
    def my_uploads(
        observer: Observer,
        limit: Annotated[int, Query(ge=0, le=1000)] = 50,
        offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    ) -> dict:
        with writer() as conn:
            total, uploads = list_uploads(conn, observer, limit=limit, offset=offset)
        for u in uploads:
            u.update(urls(u["id"]))
        return {"total": total, "limit": limit, "offset": offset, "uploads": uploads}

    @router.get(
        "/{upload_id}",
        summary="One of my uploads: state, progress, file outcomes",
        responses=_errors(400, 401, 404, 409),
    )
    def one_upload(upload_id: int, observer: Observer) -> dict:
        with writer() as conn:
            status = upload_status(conn, observer, upload_id) if upload_id < 2**63 else None
        if status is None:
            raise HTTPException(404, f"you have no upload {upload_id}")
        return {**status, **urls(upload_id)}

    @router.get(
        "/{upload_id}/report",
        summary="The executed notebook of my upload's job",
        responses={
            200: {"content": {"application/x-ipynb+json": {}, "text/html": {}}},
            **_errors(400, 401, 404, 409),
        },
    )
    async def report(
        upload_id: int, request: Request, format: Literal["ipynb", "html"] = "ipynb"
    ) -> Response:
        if format == "html" and await auth.user(request) is None:
            # A link followed from a page (the widget, the profile): sign in, then come back.
            return auth.login_redirect(f"{base}/{upload_id}/report?format=html")
        observer = await observer_id(request)

        def read() -> Response:
            with writer() as conn:
                path = report_file(conn, observer, upload_id) if upload_id < 2**63 else None
            if path is None:
                raise HTTPException(404, f"upload {upload_id} of yours has no report (yet)")
            if format == "html":
                return HTMLResponse(report_page(path, upload_id, log_url=f"{auth.prefix}profile"))
            name = f"upload-{upload_id}-{path.name}"
            return Response(
                path.read_bytes(),
                media_type="application/x-ipynb+json",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )

        return await run_in_threadpool(read)

    app.include_router(router)
