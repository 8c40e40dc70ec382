"""The ``worker`` service: stays up beside the hub and reports its health.

It will claim ingest jobs from the queue (the uploads issue); for now it checks that it can
reach the catalogue with the writer role every ``interval`` seconds and answers
``GET /services/worker/health`` with what it last saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from aphos_lib.db.catalogue import Catalogue

__all__ = ["create_app", "main"]


def create_app(catalogue: Catalogue | None = None, *, interval: float = 10.0,
               prefix: str | None = None) -> FastAPI:  # fmt: skip
    """The worker's health endpoint and its background loop."""
    prefix = prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/worker/")
    status: dict = {"database": "unknown", "checked_at": None, "started_at": time.time()}

    def check() -> None:
        cat = catalogue or Catalogue.from_environment(start=False)
        try:
            with cat.connect("writer", connect_timeout=5) as conn:
                conn.execute("SELECT 1")
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
        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()

    app = FastAPI(title="APhoS worker", lifespan=lifespan, docs_url=None, openapi_url=None)

    @app.get(f"{prefix}health")
    async def health():
        if status["checked_at"] is None:
            await asyncio.to_thread(check)
        ok = status["database"] == "ok"
        body = {"status": "ok" if ok else "degraded", "service": "worker",
                "database": status["database"], "jobs_running": 0,
                "uptime_s": round(time.time() - status["started_at"], 1)}  # fmt: skip
        return JSONResponse(body, 200 if ok else 503)

    return app


def main() -> None:
    """Serve on the address the hub gave this service (``JUPYTERHUB_SERVICE_URL``)."""
    import uvicorn

    url = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8004"))
    uvicorn.run(create_app(), host=url.hostname, port=url.port, log_level="info",
                timeout_graceful_shutdown=1)  # fmt: skip
    # Skip the interpreter's teardown of every imported module (seconds on a busy machine):
    # uvicorn has closed the connections, and the hub is waiting for this process to end.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
