"""Test helpers for the platform: a stand-in Google, a real hub on loopback, a kernel client.

The stand-in speaks Google's three OAuth endpoints (authorize, token, userinfo) on 127.0.0.1;
``login_hint`` (a real Google parameter) picks which of its accounts "signs in".
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from base64 import b64decode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from aphos_lib.hub.settings import PORT_OFFSETS

CLIENT_ID = "aphos-test-client"
CLIENT_SECRET = "aphos-test-secret"


def free_port_block() -> int:
    """A public port whose internal neighbours (port + 1..5) are all free on loopback.

    Taken below the kernel's ephemeral range: ports there are also handed to outgoing
    connections (to PostgreSQL, between the hub and its services) and could be taken between
    this check and the hub's start.
    """
    low, _ = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    span = max(PORT_OFFSETS.values())
    for _ in range(200):
        base = random.randrange(10000, max(low, 10100) - span - 1)
        try:
            for offset in range(span + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise RuntimeError("no block of free ports on 127.0.0.1")


class GoogleStandIn:
    """Google's OAuth endpoints for a fixed set of accounts, on 127.0.0.1."""

    def __init__(self, accounts: dict[str, dict]):
        self.accounts = accounts
        self._codes: dict[str, str] = {}
        self._tokens: dict[str, str] = {}
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def _reply(self, status, body=None, headers=()):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/o/oauth2/v2/auth":
                    if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
                        return self._reply(400, {"error": "invalid_request"})
                    account = q.get("login_hint", "")
                    if account not in standin.accounts:
                        return self._reply(400, {"error": "unknown account"})
                    code = secrets.token_urlsafe(12)
                    standin._codes[code] = account
                    target = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
                    return self._reply(302, None, [("Location", target)])
                if url.path == "/oauth2/v1/userinfo":
                    token = self.headers.get("Authorization", "").partition(" ")[2]
                    account = standin._tokens.get(token)
                    if account is None:
                        return self._reply(401, {"error": "invalid_token"})
                    return self._reply(200, standin.accounts[account])
                return self._reply(404, {"error": "not found"})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                basic = self.headers.get("Authorization", "")
                if basic.startswith("Basic "):
                    cid, _, secret = b64decode(basic[6:]).decode().partition(":")
                    form.setdefault("client_id", cid)
                    form.setdefault("client_secret", secret)
                if urlsplit(self.path).path != "/oauth2/v4/token":
                    return self._reply(404, {"error": "not found"})
                if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                    return self._reply(401, {"error": "invalid_client"})
                account = standin._codes.pop(form.get("code", ""), None)
                if account is None:
                    return self._reply(400, {"error": "invalid_grant"})
                token = secrets.token_urlsafe(16)
                standin._tokens[token] = account
                return self._reply(
                    200,
                    {
                        "access_token": token,
                        "token_type": "Bearer",
                        "expires_in": 3600,
                        "scope": "openid email",
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def environment(self) -> dict[str, str]:
        """Settings that point the hub's GoogleOAuthenticator at this stand-in."""
        return {
            "APHOS_AUTH": "google",
            "APHOS_GOOGLE_CLIENT_ID": CLIENT_ID,
            "APHOS_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
            "APHOS_GOOGLE_AUTHORIZE_URL": f"{self.url}/o/oauth2/v2/auth",
            "APHOS_GOOGLE_TOKEN_URL": f"{self.url}/oauth2/v4/token",
            "APHOS_GOOGLE_USERDATA_URL": f"{self.url}/oauth2/v1/userinfo",
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RunningHub:
    """``jupyterhub -f hub_config/jupyterhub_config.py`` as ``make demo`` runs it."""

    def __init__(self, env: dict[str, str], log: Path, command: list[str] | None = None):
        self.port = int(env["APHOS_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115 (closed in stop)
        # By default the hub as `make demo` runs it (run_hub: Ctrl-C handling included).
        command = command or [sys.executable, "-m", "aphos_lib.hub.run"]
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 180) -> float:
        """Seconds until the hub and all three services answer through the proxy."""
        started = time.monotonic()
        paths = [
            "/hub/login",
            "/services/api/health",
            "/services/worker/health",
            "/services/dashboards/health",
        ]
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited early:\n{self.tail()}")
            try:
                if all(httpx.get(self.url + p, timeout=5).status_code == 200 for p in paths):
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the hub did not get ready in {timeout} s:\n{self.tail()}")

    def tail(self, n: int = 60) -> str:
        """The log's last lines, after its errors (what a failing test needs to show)."""
        self._out.flush()
        lines = self.log.read_text(errors="replace").splitlines()
        errors = [line for line in lines if re.search(r"\[[EC] |Traceback|Error", line)]
        return "\n".join([*errors[:40], "...", *lines[-n:]])

    def interrupt(self, timeout: float = 30) -> float:
        """Ctrl-C (SIGINT to the whole process group, as a terminal does); seconds to exit."""
        started = time.monotonic()
        try:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass
        finally:
            self._out.close()
        return time.monotonic() - started


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group ``pgid`` is still running."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def google_sign_in(hub_url: str, account: str) -> tuple[httpx.Client, httpx.Response]:
    """Sign in through the hub's Google flow as ``account``; the client keeps the cookies."""
    client = httpx.Client(base_url=hub_url, follow_redirects=False, timeout=30)
    r = client.get("/hub/oauth_login")
    assert r.status_code == 302, r.text
    authorize = r.headers["location"] + "&" + urlencode({"login_hint": account})
    r = httpx.get(authorize)  # the browser visits Google
    assert r.status_code == 302, r.text
    callback = r.headers["location"]  # back to the hub's oauth_callback
    r = client.get(callback.removeprefix(hub_url))
    while r.status_code in (302, 303) and r.headers["location"].startswith(("/", hub_url)):
        r = client.get(r.headers["location"].removeprefix(hub_url))
    return client, r


def sign_in_with_token(
    hub_url: str, account: str, subject: str, username: str, note: str
) -> tuple[httpx.Client, str]:
    """Sign in as ``account`` (Google subject ``subject``), choosing ``username`` the first
    time; the signed-in client and a new hub token of the observer's."""
    client, page = google_sign_in(hub_url, account)
    if page.url.path == "/services/api/profile":
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
        r = client.post("/services/api/profile", data={"_xsrf": xsrf, "username": username})
        assert r.status_code == 303, r.text
    xsrf = next(c.value for c in client.cookies.jar if c.name == "_xsrf" and c.path == "/hub/")
    r = client.post(
        f"/hub/api/users/google-{subject}/tokens",
        headers={"X-XSRFToken": xsrf},
        json={"note": note},
    )
    assert r.status_code == 201, r.text
    return client, r.json()["token"]


def xsrf_headers(client: httpx.Client) -> dict[str, str]:
    """The hub wants its ``_xsrf`` cookie echoed by cookie-authenticated API calls."""
    token = next((c.value for c in client.cookies.jar if c.name == "_xsrf"), "")
    return {"X-XSRFToken": token}


def execute(hub_url: str, user: str, token: str, code: str, timeout: float = 120) -> str:
    """Run ``code`` in a new kernel of ``user``'s server; return what it printed."""
    from websockets.sync.client import connect

    headers = {"Authorization": f"token {token}"}
    r = httpx.post(f"{hub_url}/user/{user}/api/kernels", headers=headers, json={}, timeout=60)
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    ws_url = hub_url.replace("http", "ws", 1) + f"/user/{user}/api/kernels/{kernel}/channels"
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": user,
            "session": uuid.uuid4().hex,
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "channel": "shell",
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
        },
    }
    out = []
    deadline = time.monotonic() + timeout
    with connect(ws_url, additional_headers=headers, open_timeout=60) as ws:
        ws.send(json.dumps(message))
        while time.monotonic() < deadline:
            reply = json.loads(ws.recv(timeout=deadline - time.monotonic()))
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = reply["msg_type"], reply["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                out.append("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                break
    httpx.delete(f"{hub_url}/user/{user}/api/kernels/{kernel}", headers=headers, timeout=30)
    return "".join(out)
