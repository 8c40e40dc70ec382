"""``aphos demo`` (what ``make demo`` runs) end to end, on a fresh APHOS_HOME.

It must reach a local login page and the public dashboards, let a demo observer sign in
locally, and stop everything, the embedded database included, within 10 s of Ctrl-C.
"""

from __future__ import annotations

import re
import shutil
import socket
import sys
from pathlib import Path

import httpx
import pytest

from aphos_lib.db.embedded import EmbeddedPostgres
from aphos_lib.hub.settings import PORT_OFFSETS

from conftest import make_home
from hub_harness import RunningHub, free_port_block, group_alive

pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.serial]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_demo_starts_everything_and_ctrl_c_stops_it(monkeypatch):
    home = make_home("aphos-demo-")
    port = free_port_block()
    for name in ("APHOS_DATABASE_URL", "APHOS_DATABASE_URL_WRITER", "APHOS_DATABASE_URL_READER"):
        monkeypatch.delenv(name, raising=False)
    aphos = str(Path(sys.executable).parent / "aphos")
    hub = RunningHub(
        {"APHOS_HOME": str(home), "APHOS_PORT": str(port)},
        home / "demo.log",
        command=[aphos, "demo", "--images", "12"],
    )
    try:
        seconds = hub.wait_ready(timeout=300)
        print(f"aphos demo --images 12 on a fresh home: usable after {seconds:.1f} s")
        client = httpx.Client(base_url=hub.url, timeout=30)
        login = client.get("/hub/login")
        assert "Local demo sign-in" in login.text and 'id="aphos-local-login"' in login.text
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', login.text).group(1)
        r = client.post(
            "/hub/login", data={"_xsrf": xsrf, "username": "novak"}, follow_redirects=True
        )
        assert r.status_code == 200 and r.url.path == "/services/api/profile", r.text
        form_xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.text).group(1)
        r = client.post(
            "/services/api/profile",
            data={"_xsrf": form_xsrf, "username": "novak"},
            headers={"Accept": "text/html"},
            follow_redirects=True,
        )
        # The local sign-in became the demo observer novak, whose uploads are listed.
        assert r.status_code == 200 and "id='upload-log'" in r.text and "<table" in r.text
        dashboards = httpx.get(
            f"{hub.url}/services/dashboards/voila/render/index.ipynb", timeout=120
        )
        assert dashboards.status_code == 200 and "fluxes" in dashboards.text
        # The observer's server is still starting when Ctrl-C comes.
        assert client.get("/hub/spawn").status_code == 302  # to its progress page
    finally:
        pgid = hub.process.pid
        stopped_in = hub.interrupt()
        log = (home / "demo.log").read_text(errors="replace")
        left = [n for n, off in PORT_OFFSETS.items() if port_open(port + off)]
        database_running = EmbeddedPostgres(home).status().running
        if database_running:
            EmbeddedPostgres(home).stop()
        shutil.rmtree(home, ignore_errors=True)
    assert stopped_in < 10, f"Ctrl-C took {stopped_in:.1f} s"
    # Quietly: no service, kernel or starting server prints a traceback on the way out.
    assert "Traceback" not in log and "ZMQError" not in log, log[-5000:]
    assert not group_alive(pgid) and not left and not port_open(port), left
    assert not database_running
