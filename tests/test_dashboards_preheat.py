"""The dashboards service's preheated kernels: each request's address reaches its kernel, and
culling reaps the kernels of page views but never the pool.

The service's own command (``aphos_lib.hub.dashboards.command``: the hub's base URL) with one
preheated kernel per page (``APHOS_DASHBOARD_KERNEL_POOL=1``; the default is two) on a free
port, culling idle kernels after 4 s instead of minutes, on an empty catalogue: the profile page
of a name nobody has says that name back, so each page shows which address its kernel got.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from aphos_lib.hub.configurer import service_environment
from aphos_lib.hub.dashboards import command
from aphos_lib.hub.settings import HubSettings

BASE = "/services/dashboards/"
POOLED = ("index.ipynb", "object.ipynb", "profile.ipynb", "search.ipynb", "variables.ipynb")
IDLE_TIMEOUT = 4
CULL_INTERVAL = 2


def _wait(predicate, what: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _count(log: Path, pattern: str) -> int:
    return len(re.findall(pattern, log.read_text()))


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def service(tmp_path, catalogue):
    """The dashboards service's Voila on an empty catalogue: (its URL, its log)."""
    port = _free_port()
    s = HubSettings(
        home=tmp_path, dashboard_kernel_idle_timeout=IDLE_TIMEOUT, dashboard_kernel_pool=1
    )
    replaced = ("--Voila.port=", "--MappingKernelManager.cull_interval=")
    argv = [a for a in command(s) if not a.startswith(replaced)]
    argv += [
        f"--Voila.port={port}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL}",
        "--Voila.config_file_paths=[]",
    ]
    config_dir = tempfile.mkdtemp(prefix="aphos-voila-config-", dir=tmp_path)
    env = {
        **os.environ,
        **service_environment(catalogue, "reader"),
        "JUPYTER_CONFIG_DIR": config_dir,
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "voila.log"
    with log.open("w") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}{BASE}"
    try:
        _wait(lambda: _answers(url + "health"), "Voila answering", log)  # the root redirects
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _profile(url: str, username: str) -> str:
    """The HTML the profile page's cell displayed (Voila sends each output as JSON)."""
    r = httpx.get(f"{url}voila/render/profile.ipynb?username={username}", timeout=120)
    assert r.status_code == 200
    outputs = re.findall(
        r'<script type="application/vnd.voila.cell-output\+json">(.*?)</script>', r.text, re.S
    )
    return "".join(json.loads(o).get("data", {}).get("text/html", "") for o in outputs)


def test_pool_size_comes_from_the_settings(tmp_path):
    def voila(pool: str) -> list[str]:
        env = {"APHOS_HOME": str(tmp_path), "APHOS_DASHBOARD_KERNEL_POOL": pool}
        return command(HubSettings.from_environment(env))

    assert HubSettings(home=tmp_path).dashboard_kernel_pool == 2
    assert voila("3")[-3:] == [
        "--VoilaConfiguration.preheat_kernel=True",
        "--VoilaConfiguration.default_pool_size=3",
        "--VoilaKernelManager.fill_delay=2.5",
    ]
    assert not any("preheat" in a or "pool" in a or "fill" in a for a in voila("0"))
    assert command(HubSettings(home=tmp_path)) == voila("2")


def _wait_in_kernel(**env: str) -> subprocess.CompletedProcess:
    """``wait_for_page_request()`` in a fresh interpreter with ``env``; prints whether Voila
    got imported."""
    code = (
        "import sys; from aphos_lib.widgets.urls import wait_for_page_request; "
        "wait_for_page_request(); print('voila' in sys.modules)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VOILA_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_waiting_is_a_no_op_outside_a_preheated_kernel():
    # papermill, JupyterLab, and a kernel Voila starts for a request (VOILA_PREHEAT=False).
    for env in ({}, {"VOILA_PREHEAT": "False"}):
        done = _wait_in_kernel(**env)
        assert (done.returncode, done.stdout) == (0, "False\n"), done.stderr


def test_a_preheated_kernel_that_gets_no_request_fails_loudly():
    # Voila's wait_for_request gives up quietly when its socket is not there; the page must
    # not then render with an empty address as if it were the one asked for.
    done = _wait_in_kernel(
        VOILA_PREHEAT="True", VOILA_APP_PORT=str(_free_port()), VOILA_KERNEL_ID="0"
    )
    assert done.returncode == 1
    assert "RuntimeError: this preheated page never received its request from Voila" in (
        done.stderr
    )


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.parametrize("server", ["embedded"], indirect=True)
def test_each_request_reaches_its_preheated_kernel_and_culling_spares_the_pool(service):
    url, log = service

    def filled(name: str, times: int):
        return lambda: _count(log, rf"Kernel pool of {re.escape(name)} is filled") >= times

    for name in POOLED:
        _wait(filled(name, 1), f"the pool of {name} filling", log)
    # The upload page (dashboards/workspace/) is the observer's own server's: no pool here.
    pools = set(re.findall(r"Kernel pool of (\S+) is filled", log.read_text()))
    assert sorted(pools) == list(POOLED)

    # Under the hub's base URL the kernel reaches Voila's request socket and gets the address.
    page = _profile(url, "first_visitor")
    assert "No observer is called <b>first_visitor</b>" in page
    assert _count(log, r"Using pre-heated kernel: \S+ for profile\.ipynb") == 1

    # The pool refills with a kernel that waits for the next request's address.
    _wait(filled("profile.ipynb", 2), "the pool of profile.ipynb refilling", log)
    page = _profile(url, "second_visitor")
    assert "No observer is called <b>second_visitor</b>" in page and "first_visitor" not in page
    assert _count(log, r"Using pre-heated kernel: \S+ for profile\.ipynb") == 2

    # Both pages' kernels are culled once idle; the four kernels in the pools (one per page,
    # profile's refilled a third time) are not, however long they wait.
    _wait(filled("profile.ipynb", 3), "the pool of profile.ipynb refilling again", log)
    _wait(lambda: _count(log, r"Culling 'idle' kernel") >= 2, "culling the used kernels", log)
    time.sleep(IDLE_TIMEOUT + 3 * CULL_INTERVAL)
    assert _count(log, r"Culling '\w+' kernel") == 2
    assert _count(log, r"Culling '\w+' dead kernel") == 0

    # The pooled kernel that sat past the idle timeout still serves the next visitor.
    page = _profile(url, "third_visitor")
    assert "No observer is called <b>third_visitor</b>" in page
    assert _count(log, r"Using pre-heated kernel: \S+ for profile\.ipynb") == 3
