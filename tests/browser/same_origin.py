"""One origin for a page and the api service, as the hub's proxy gives them.

The upload page posts from the browser to ``/services/api/`` on its own origin with the hub's
cookies; in tests the page's Voila and the api service run on ports of their own, so the
platform's own proxy (the npm ``configurable-http-proxy``) puts them behind one address.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from aphos_lib.hub.settings import HubSettings

from conftest import free_port


def _request(url: str, token: str, data: bytes | None = None) -> int:
    request = urllib.request.Request(
        url,
        data=data,
        method="POST" if data else "GET",
        headers={"Authorization": f"token {token}"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.status


@contextlib.contextmanager
def same_origin(default: str, routes: dict[str, str], log: Path) -> Iterator[str]:
    """A proxy on 127.0.0.1 sending ``routes`` (path prefix -> target) to their targets and
    everything else (websockets too) to ``default``; its URL."""
    port, api_port, token = free_port(), free_port(), secrets.token_hex(16)
    command = [
        HubSettings.from_environment().proxy_command,
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--api-ip",
        "127.0.0.1",
        "--api-port",
        str(api_port),
        "--default-target",
        default,
        "--log-level",
        "warn",
    ]
    with log.open("w") as out:
        proxy = subprocess.Popen(
            command,
            env={**os.environ, "CONFIGPROXY_AUTH_TOKEN": token},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        api = f"http://127.0.0.1:{api_port}/api/routes"
        deadline = time.monotonic() + 30
        while True:
            try:
                _request(api, token)
                break
            except (urllib.error.URLError, ConnectionError):
                if proxy.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the proxy did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        for prefix, target in routes.items():
            _request(api + prefix, token, json.dumps({"target": target}).encode())
        yield f"http://127.0.0.1:{port}"
    finally:
        proxy.terminate()
        try:
            proxy.wait(10)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()
