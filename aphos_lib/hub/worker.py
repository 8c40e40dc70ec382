"""The ``worker`` service: runs the ingest worker processes and reports their health.

It starts ``APHOS_WORKERS`` worker processes (default 1; :mod:`aphos_lib.jobs.pool`), each
claiming jobs from the queue and running the job notebook (:mod:`aphos_lib.jobs.runner`);
a process that dies is started again, and SIGTERM/SIGINT stop them all. ``GET
/services/worker/health`` answers what it last saw: the catalogue reachable with the writer
role, the worker processes alive, and the queue (jobs queued and running). It also cancels
reader statements that run past the reader's timeout (:mod:`aphos_lib.db.reader_limits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.db.reader_limits import ReaderWatchdog
from aphos_lib.ingest import fold_flux_counts
from aphos_lib.jobs.pool import WorkerPool
from aphos_lib.jobs.queue import queue_depth
from aphos_lib.web.serve import serve_hub_service

__all__ = ["create_app", "main"]


def create_app(
    catalogue: Catalogue | None = None,
    *,
    interval: float = 10.0,
    prefix: str | None = None,
    pool: WorkerPool | None = None,
    watchdog: bool = True,
) -> FastAPI:
    """The worker's health endpoint, its worker processes and its background check.

    Parameters
    ----------
    catalogue : Catalogue, optional
        By default from the environment (the writer login the hub gives this service).
    interval : float
        Seconds between health checks.
    prefix : str, optional
        The service's URL prefix (``JUPYTERHUB_SERVICE_PREFIX``).
    pool : WorkerPool, optional
        The worker processes; by default ``APHOS_WORKERS`` of them. Started with the app and
        stopped with it.
    watchdog : bool
        Also enforce the reader's statement timeout (:class:`ReaderWatchdog`), which a
        reader's session cannot lift.
    """
    prefix = prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/worker/")
    pool = pool if pool is not None else WorkerPool()
    status: dict = {
        "database": "unknown",
        "checked_at": None,
        "started_at": time.time(),
        "queued": None,
        "running": None,
    }

    def check() -> None:
        cat = catalogue or Catalogue.from_environment(start=False)
        try:
            with cat.connect("writer", connect_timeout=5) as conn:
                status["queued"], status["running"] = queue_depth(conn)
                # Flux counts a killed job left pending (its files are stored) reach their
                # objects within one interval, not only with the next upload.
                fold_flux_counts(conn)
            status["database"] = "ok"
        except Exception as e:  # any failure is reported; the loop goes on
            status["database"] = f"error: {e}"
        status["checked_at"] = time.time()

    async def loop() -> None:
        while True:
            await asyncio.to_thread(check)
            await asyncio.sleep(interval)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        pool.start()
        task = asyncio.create_task(loop())
        guard = None
        if watchdog:
            guard = ReaderWatchdog(catalogue or Catalogue.from_environment(start=False)).start()
        try:
            yield
        finally:
            task.cancel()
            if guard is not None:
                await asyncio.to_thread(guard.stop)
            await asyncio.to_thread(pool.stop)

    app = FastAPI(title="APhoS worker", lifespan=lifespan, docs_url=None, openapi_url=None)

    @app.get(f"{prefix}health")
    async def health():
        if status["checked_at"] is None:
            await asyncio.to_thread(check)
        workers = len(pool.pids)
        ok = status["database"] == "ok" and workers == pool.size
        body = {
            "status": "ok" if ok else "degraded",
            "service": "worker",
            "database": status["database"],
            "workers": workers,
            "workers_configured": pool.size,
            "worker_restarts": pool.restarts,
            "jobs_running": status["running"],
            "jobs_queued": status["queued"],
            "uptime_s": round(time.time() - status["started_at"], 1),
        }
        return JSONResponse(body, 200 if ok else 503)

    return app


def main() -> None:
    """Serve on the address the hub gave this service (``JUPYTERHUB_SERVICE_URL``)."""
    serve_hub_service(create_app(), "http://127.0.0.1:8004")


if __name__ == "__main__":
    main()
