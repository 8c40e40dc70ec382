"""Serve a hub-managed FastAPI service on the address the hub gave it, and end promptly."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

__all__ = ["serve_hub_service"]


def serve_hub_service(app, default_url: str) -> None:
    """Run ``app`` with uvicorn on ``$JUPYTERHUB_SERVICE_URL`` (``default_url`` without a hub)
    until it is stopped, then end the process at once.

    The graceful shutdown is short: the proxy keeps idle connections open, and uvicorn would
    otherwise wait for them while the hub waits for the service on Ctrl-C. The interpreter's
    teardown of every imported module (seconds on a busy machine) is skipped: uvicorn has
    closed the connections by then.
    """
    import uvicorn

    url = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", default_url))
    uvicorn.run(
        app,
        host=url.hostname,
        port=url.port,
        log_level="info",
        proxy_headers=False,
        timeout_graceful_shutdown=1,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
