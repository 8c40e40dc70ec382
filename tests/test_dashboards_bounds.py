"""The dashboards service's bounds: the public pages only, kernels released soon after their
page goes, a ceiling with a busy page beyond, and a flood that cannot exhaust the memory.

The service runs as the hub runs it (``python -m aphos_lib.hub.dashboards`` with
:func:`aphos_lib.hub.dashboards.voila_arguments`), with one preheated kernel per page and
small timeouts so that a test takes a minute or a few instead of the production minutes.
Kernels are counted twice: by the service (``health``) and as processes (psutil).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from tornado.websocket import websocket_connect

from aphos_lib.hub import dashboards, voila_limits, voila_pool
from aphos_lib.hub.configurer import service_environment
from aphos_lib.hub.dashboards import command, preheated_pages, voila_arguments
from aphos_lib.hub.settings import HubSettings

from conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS = ROOT / "dashboards"
BASE = "/services/dashboards/"
POOLED = len(preheated_pages(DASHBOARDS))  # one preheated kernel per public page
KERNEL_ID = re.compile(r'"kernelId": "([0-9a-f-]{36})"')
GK_CEP, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"


# -- settings and pieces, no service ------------------------------------------------------------


def test_the_ceiling_is_a_setting_derived_from_the_memory_by_default(tmp_path):
    s = HubSettings.from_environment({"APHOS_HOME": str(tmp_path)})
    assert (s.dashboard_max_kernels, s.dashboard_kernel_idle_timeout) == (0, 300)
    assert not any("max_kernels" in a for a in command(s))  # the service derives it
    s = HubSettings.from_environment({"APHOS_HOME": str(tmp_path),
                                      "APHOS_DASHBOARD_MAX_KERNELS": "6"})  # fmt: skip
    assert "--DashboardKernels.max_kernels=6" in command(s)
    assert "--MappingKernelManager.cull_connected=True" in command(s)

    # Half the memory in 250 MiB kernels, less the preheated pool, at least one.
    assert voila_limits.kernel_ceiling(24 * 2**30, preheated=8) == 41
    assert voila_limits.kernel_ceiling(8 * 2**30, preheated=8) == 8
    assert voila_limits.kernel_ceiling(2**30, preheated=8) == 1
    assert 0 < voila_limits.machine_memory() <= psutil.virtual_memory().total


def test_the_kernel_manager_gets_both_patches_once():
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

    for _ in range(2):
        dashboards.install()
        voila_pool.install()
        voila_limits.install()
    import voila.app

    preheating = voila.app.voila_kernel_manager_factory(AsyncMappingKernelManager, True, 2)
    names = [c.__qualname__ for c in preheating.__mro__]
    assert names.count("DashboardKernels") == 1
    hurrying = [c for c in preheating.__mro__ if "get_rendered_notebook" in vars(c)
                and vars(c)["get_rendered_notebook"].__qualname__.startswith("_hurrying.")]
    assert len(hurrying) == 1
    plain = voila.app.voila_kernel_manager_factory(AsyncMappingKernelManager, False, 0)
    assert [c.__qualname__ for c in plain.__mro__].count("DashboardKernels") == 1


def test_only_top_level_notebooks_are_public():
    paths = ["index.ipynb", "workspace/upload.ipynb", "../x.ipynb", ".x.ipynb", "", None, "a\\b"]
    assert [p for p in paths if dashboards.is_public(p)] == ["index.ipynb"]
    pages = ["index.ipynb", "object.ipynb", "profile.ipynb", "search.ipynb"]
    assert preheated_pages(DASHBOARDS) == pages
    assert (DASHBOARDS / "workspace" / "upload.ipynb").is_file()
    assert HubSettings(home=Path("/x")).workspace_dashboards_dir == DASHBOARDS / "workspace"


# -- the service --------------------------------------------------------------------------------


class Service:
    """The dashboards service in a subprocess: its URL, log, process and kernel processes."""

    def __init__(self, catalogue, tmp_path: Path, *, max_kernels: int, idle_timeout: int,
                 extra: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.port = free_port()
        service = voila_arguments(DASHBOARDS, port=self.port, idle_timeout=idle_timeout,
                                  pool_size=1, max_kernels=max_kernels, base_url=BASE)
        # An option given twice stops Voila: the test's own replace the service's.
        replaced = tuple(a.split("=")[0] for a in extra)
        service = [a for a in service if not a.startswith(replaced)]
        argv = [sys.executable, "-m", "aphos_lib.hub.dashboards", *service,
                "--Voila.config_file_paths=[]", *extra]
        config_dir = tempfile.mkdtemp(prefix="aphos-voila-config-", dir=tmp_path)
        env = {**os.environ, **service_environment(catalogue, "reader"),
               "JUPYTER_CONFIG_DIR": config_dir, "PYTHONUNBUFFERED": "1"}  # fmt: skip
        self.log = tmp_path / "voila.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out,
                                            stderr=subprocess.STDOUT)  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}{BASE}"
        self.ps = psutil.Process(self.process.pid)

    def wait(self, predicate, what: str, timeout: float = 180) -> float:
        """Seconds until ``predicate()``; fails with the log's tail after ``timeout``."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                pytest.fail(f"the service exited before {what}:\n{self.tail()}")
            if predicate():
                return time.monotonic() - started
            time.sleep(0.25)
        pytest.fail(f"{what} did not happen in {timeout:.0f} s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text()[-4000:]

    def health(self) -> dict:
        return httpx.get(self.url + "health", timeout=10).json()

    def kernel_processes(self) -> list[psutil.Process]:
        kernels = []
        for child in self.ps.children(recursive=True):
            try:
                if "ipykernel" in " ".join(child.cmdline()):
                    kernels.append(child)
            except psutil.Error:
                pass  # ended while we looked
        return kernels

    def resident_bytes(self) -> int:
        """RSS of the Voila process and of every process under it (its kernels)."""
        total = 0
        for process in [self.ps, *self.ps.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        return total

    def ready(self) -> None:
        """Until ``health`` answers and every page's preheated kernel has been started."""
        def answers() -> bool:
            try:
                return self.health()["kernels"] >= POOLED
            except httpx.HTTPError:
                return False

        self.wait(answers, "the service answering with its pool")
        self.wait(lambda: self.log.read_text().count("is filled with") >= POOLED,
                  "the pools filled")  # fmt: skip

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _kernel_id(html: str) -> str:
    found = KERNEL_ID.search(html)
    assert found, html[-2000:]
    return found.group(1)


async def _connect(url: str, kernel_id: str):
    """The page's kernel websocket, as Voila's page opens it."""
    ws_url = url.replace("http://", "ws://") + (
        f"api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}")
    return await websocket_connect(ws_url, connect_timeout=30)


@pytest.fixture
def small_service(tmp_path, catalogue):
    """The service on an empty catalogue: at most 2 kernels, released 6 s after their page
    goes, culled after 30 s idle, checked every 2 s."""
    service = Service(catalogue, tmp_path, max_kernels=2, idle_timeout=30,
                      extra=("--DashboardKernels.unconnected_timeout=6",
                             "--MappingKernelManager.cull_interval=2"))  # fmt: skip
    try:
        service.ready()
        yield service
    finally:
        service.stop()


@pytest.mark.slow
@pytest.mark.parametrize("server", ["embedded"], indirect=True)
def test_public_pages_only_and_kernels_bounded_and_released(small_service):
    s = small_service
    get = lambda path, **kw: httpx.get(s.url + path, timeout=120, **kw)  # noqa: E731

    # No file tree, no contents API, no upload page (the observer's own server has it).
    home = get("")
    assert (home.status_code, home.headers["location"]) == (302, BASE + "voila/render/index.ipynb")
    for path in ("voila/tree", "voila/tree/workspace", "voila/api/contents",
                 "voila/api/contents/workspace", "voila/render/workspace/upload.ipynb",
                 "voila/render/workspace%2Fupload.ipynb", "voila/render/upload.ipynb"):  # fmt: skip
        assert get(path).status_code == 404, path
    assert "Kernel pool of workspace" not in s.log.read_text()
    assert s.health() == {"held_kernels": 0, "max_kernels": 2, "preheated": POOLED,
                          "kernels": POOLED, "busy_answers": 0}  # fmt: skip
    assert len(s.kernel_processes()) == POOLED

    # Two plain GETs (a bot, curl) take the two kernels; a third visitor gets the busy page
    # at once, and no kernel is started for it.
    first, second = get("voila/render/profile.ipynb?username=a"), get("voila/render/index.ipynb")
    assert (first.status_code, second.status_code) == (200, 200)
    assert "No observer is called" in first.text  # the page ran, in its own kernel
    s.wait(lambda: s.health()["kernels"] == POOLED + 2, "the two pools refilled", timeout=60)
    busy = get("voila/render/search.ipynb")
    assert busy.status_code == 503 and busy.elapsed.total_seconds() < 1
    assert busy.headers["retry-after"] == "5"
    assert busy.headers["content-type"] == "text/html; charset=utf-8"
    assert '<meta http-equiv="refresh" content="5">' in busy.text
    assert "The dashboards are busy" in busy.text and "Traceback" not in busy.text
    time.sleep(1)
    assert s.health() == {"held_kernels": 2, "max_kernels": 2, "preheated": POOLED,
                          "kernels": POOLED + 2, "busy_answers": 1}  # fmt: skip
    assert len(s.kernel_processes()) == POOLED + 2

    # Nobody connected to them: both are shut down 6 s after their page was sent (checked
    # every 2 s), the pool stays.
    released = s.wait(lambda: s.health()["held_kernels"] == 0, "the unconnected kernels going",
                      timeout=30)  # fmt: skip
    assert released < 6 + 2 + 3
    assert len(re.findall(r"Culling unconnected kernel", s.log.read_text())) == 2
    s.wait(lambda: len(s.kernel_processes()) == POOLED, "their processes ending", timeout=20)

    async def scenario() -> dict:
        out = {}

        def running(kernel_id: str) -> bool:
            return httpx.get(s.url + f"api/kernels/{kernel_id}", timeout=10).status_code == 200

        async def until_gone(kernel_id: str, timeout: float) -> float:
            started = time.monotonic()
            while running(kernel_id):
                assert time.monotonic() - started < timeout, f"{kernel_id} still running"
                await asyncio.sleep(0.25)
            return time.monotonic() - started

        # A page whose websocket stays connected keeps its kernel past the 6 s...
        kept = _kernel_id(get("voila/render/profile.ipynb?username=b").text)
        ws_kept = await _connect(s.url, kept)
        # ...a page closed without a beacon lets its kernel go 6 s after the websocket closed...
        closed = _kernel_id(get("voila/render/search.ipynb").text)  # its own pool: no wait
        ws_closed = await _connect(s.url, closed)
        await asyncio.sleep(3)
        ws_closed.close()
        out["closed"] = await until_gone(closed, timeout=20)
        out["kept_running"] = running(kept)
        # ...a closing page's beacon shuts its kernel down at once...
        beaconed = _kernel_id(get("voila/render/index.ipynb").text)
        ws_beaconed = await _connect(s.url, beaconed)
        beacon = httpx.post(s.url + f"voila/api/shutdown/{beaconed}", timeout=30)
        ws_beaconed.close()
        out["beacon"] = beacon.status_code
        out["beaconed_gone"] = await until_gone(beaconed, timeout=5)
        # ...and an open page nobody touches loses its kernel after the 30 s idle timeout.
        out["idle"] = await until_gone(kept, timeout=60)
        ws_kept.close()
        return out

    out = asyncio.run(scenario())
    assert 6 - 1 < out["closed"] < 6 + 2 + 3
    assert out["kept_running"] is True
    assert out["beacon"] == 204 and out["beaconed_gone"] < 2
    assert out["idle"] < 30 + 2 + 3
    assert re.search(r"Culling 'idle' kernel \S+ \(\S+\) with 1 connections", s.log.read_text())
    s.wait(lambda: s.health()["held_kernels"] == 0 and len(s.kernel_processes()) == POOLED,
           "only the pool left", timeout=30)  # fmt: skip
    assert "Traceback" not in s.log.read_text()
