"""Uploads through the API: send SIPS files, follow their ingest job, read its report.

For signed-in observers only (hub token in ``Authorization: token ...``, or the hub cookie with
the ``X-XSRFToken`` header, :mod:`aphos_lib.web.xsrf`); :data:`router`, included by
:func:`aphos_lib.web.app.create_app` under the service's prefix:

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

Another observer's upload answers 404, as a missing one does. The limits are the settings'
(:class:`aphos_lib.web.settings.UploadLimits`): per file (default 20 MB, answered 413 storing
nothing), jobs queued or running per observer (default 4, answered 429), files per upload
(default 500), seconds without any part of the body arriving (default 60, answered 408
storing nothing). Files a killed request left behind are removed when the service starts
(:func:`clean_abandoned`, run by the application's lifespan).
"""

# No "from __future__ import annotations": FastAPI reads the endpoint signatures.
import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Literal

import psycopg
from fastapi import APIRouter, HTTPException, Query, Request
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
from aphos_lib.web.deps import (
    CurrentObserver,
    Settings,
    SignedIn,
    Writer,
    current_observer,
    maybe_signed_in,
)
from aphos_lib.web.models.uploads import Session, UploadAccepted, UploadLog, UploadStatus
from aphos_lib.web.profiles import profile_by_hub_user
from aphos_lib.web.rest.errors import ErrorMessage
from aphos_lib.web.rest.jsonout import StrictJSONResponse
from aphos_lib.web.settings import ApiSettings
from aphos_lib.web.xsrf import set_xsrf_cookie, xsrf_token

__all__ = ["clean_abandoned", "router"]

log = logging.getLogger("aphos_lib.web.rest")
_CLIENT = re.compile(r"[a-z][a-z0-9_-]{0,31}")
PATH = "/api/v2/uploads"

router = APIRouter(
    prefix=PATH,
    tags=["Uploads (signed-in observers)"],
    default_response_class=StrictJSONResponse,
)


def _errors(*codes: int) -> dict:
    why = {
        400: "Not a multipart upload of files, or a parameter is wrong",
        401: "Not signed in",
        403: "Signed in by cookie, and the X-XSRFToken header did not echo the _xsrf cookie",
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


def clean_abandoned(writer: Callable[[], psycopg.Connection]) -> None:
    """Remove the files of uploads a killed request left behind (run once at start-up).

    The service serves anyway when this fails: the next start tries again.
    """
    try:
        with writer() as conn:
            removed = remove_abandoned(conn)
        if removed:
            log.info("removed the files of %d abandoned uploads", len(removed))
    except Exception:
        log.exception("cleaning up abandoned uploads failed")


def _base(settings: ApiSettings) -> str:
    return f"{settings.route_prefix}{PATH}"


def _urls(settings: ApiSettings, upload_id: int) -> dict:
    base = _base(settings)
    return {"status_url": f"{base}/{upload_id}", "report_url": f"{base}/{upload_id}/report"}


@router.post(
    "",
    status_code=202,
    summary="Send SIPS files to be stored (one job)",
    openapi_extra=_MULTIPART_BODY,
    response_model=UploadAccepted,
    responses=_errors(400, 401, 403, 408, 409, 413, 429),
)
async def create_upload(
    request: Request, observer: CurrentObserver, settings: Settings, writer: Writer
) -> Response:
    limits = settings.upload_limits
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body:
        # Far more than any accepted upload: refused without reading it.
        raise HTTPException(
            413,
            f"at most {limits.max_files} files of {limits.max_bytes / 2**20:g} MB per upload",
        )

    def reserve() -> int:
        with writer() as conn:
            check_in_flight(conn, observer.id, limits.max_in_flight)  # before reading files
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
                    observer.id,
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
    return StrictJSONResponse(
        {
            "upload_id": upload_id,
            "job_id": job_id,
            **_urls(settings, upload_id),
            "files": [
                {
                    "position": f.position,
                    "filename": f.filename,
                    "size_bytes": f.size_bytes,
                    "sha256": f.sha256.hex(),
                }
                for f in files
            ],
        },
        status_code=202,
    )


@router.get(
    "/session",
    summary="What a page needs to send files from the browser",
    response_model=Session,
    responses=_errors(401),
)
async def session(request: Request, user: SignedIn, settings: Settings, writer: Writer) -> Response:
    # Declared before "/{upload_id}", which would answer "session" with a 400.
    # The upload page posts from the browser with the hub cookie: its script cannot read
    # the XSRF cookie (httponly), so it asks here. Another site's page cannot read this
    # answer (same-origin policy), which is what keeps the token secret from it.
    def lookup():
        with writer() as conn:
            return profile_by_hub_user(conn, user.name)

    profile = await run_in_threadpool(lookup)
    xsrf = xsrf_token(request)
    response = StrictJSONResponse(
        {
            "username": profile.username if profile else None,
            "profile_url": f"{settings.prefix}profile",
            "upload_url": _base(settings),
            "xsrf": xsrf,
            "max_files": settings.upload_limits.max_files,
            "max_bytes": settings.upload_limits.max_bytes,
        },
        headers={"Cache-Control": "no-store"},
    )
    set_xsrf_cookie(response, xsrf, settings.prefix)
    return response


@router.get(
    "",
    summary="My uploads, newest first, with counts and messages",
    response_model=UploadLog,
    responses=_errors(400, 401, 409),
)
def my_uploads(
    observer: CurrentObserver,
    settings: Settings,
    writer: Writer,
    limit: Annotated[int, Query(ge=0, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Response:
    with writer() as conn:
        total, uploads = list_uploads(conn, observer.id, limit=limit, offset=offset)
    for u in uploads:
        u.update(_urls(settings, u["id"]))
    return StrictJSONResponse(
        {"total": total, "limit": limit, "offset": offset, "uploads": uploads}
    )


@router.get(
    "/{upload_id}",
    summary="One of my uploads: state, progress, file outcomes",
    response_model=UploadStatus,
    responses=_errors(400, 401, 404, 409),
)
def one_upload(
    upload_id: int, observer: CurrentObserver, settings: Settings, writer: Writer
) -> Response:
    with writer() as conn:
        status = upload_status(conn, observer.id, upload_id) if upload_id < 2**63 else None
    if status is None:
        raise HTTPException(404, f"you have no upload {upload_id}")
    return StrictJSONResponse({**status, **_urls(settings, upload_id)})


@router.get(
    "/{upload_id}/report",
    summary="The executed notebook of my upload's job",
    response_class=Response,
    responses={
        200: {"content": {"application/x-ipynb+json": {}, "text/html": {}}},
        **_errors(400, 401, 404, 409),
    },
)
async def report(
    upload_id: int,
    request: Request,
    settings: Settings,
    writer: Writer,
    format: Literal["ipynb", "html"] = "ipynb",
) -> Response:
    if format == "html" and await maybe_signed_in(request) is None:
        # A link followed from a page (the widget, the profile): sign in, then come back.
        return settings.auth.login_redirect(f"{_base(settings)}/{upload_id}/report?format=html")
    observer = (await current_observer(request)).id

    def read() -> Response:
        with writer() as conn:
            path = report_file(conn, observer, upload_id) if upload_id < 2**63 else None
        if path is None:
            raise HTTPException(404, f"upload {upload_id} of yours has no report (yet)")
        if format == "html":
            return HTMLResponse(report_page(path, upload_id, log_url=f"{settings.prefix}profile"))
        name = f"upload-{upload_id}-{path.name}"
        return Response(
            path.read_bytes(),
            media_type="application/x-ipynb+json",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return await run_in_threadpool(read)
