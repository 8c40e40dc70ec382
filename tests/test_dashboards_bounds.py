"""The dashboards service's bounds: the public pages only, kernels released soon after their
page goes, a ceiling with a busy page beyond, and a flood that cannot exhaust the memory.

The service runs as the hub runs it (``python -m aphos_lib.hub.dashboards`` with
:func:`aphos_lib.hub.dashboards.voila_arguments`), with one preheated kernel per page and
small timeouts so that a test takes a minute or a few instead of the production minutes.
Kernels are counted twice: by the service (``health``) and as processes (psutil).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
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
DASHBOARDS = ROOT / "aphos_lib" / "dashboards"
BASE = "/services/dashboards/"
POOLED = len(preheated_pages(DASHBOARDS))  # one preheated kernel per public page
KERNEL_ID = re.compile(r'"kernelId": "([0-9a-f-]{36})"')
GK_CEP, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"


# -- settings and pieces, no service ------------------------------------------------------------


def test_the_ceiling_is_a_setting_derived_from_the_memory_by_default(tmp_path):
    s = HubSettings.from_environment({"APHOS_HOME": str(tmp_path)})
    assert (s.dashboard_max_kernels, s.dashboard_kernel_idle_timeout) == (0, 300)
    assert not any("max_kernels" in a for a in command(s))  # the service derives it
    s = HubSettings.from_environment(
        {"APHOS_HOME": str(tmp_path), "APHOS_DASHBOARD_MAX_KERNELS": "6"}
    )
    assert "--DashboardKernels.max_kernels=6" in command(s)
    assert "--MappingKernelManager.cull_connected=True" in command(s)

    # Half the memory in 250 MiB kernels, less the preheated pool, at least one.
    assert voila_limits.kernel_ceiling(24 * 2**30, preheated=8) == 41
    assert voila_limits.kernel_ceiling(8 * 2**30, preheated=8) == 8
    assert voila_limits.kernel_ceiling(2**30, preheated=8) == 1
    assert 0 < voila_limits.machine_memory() <= psutil.virtual_memory().total

    # A page gone (closed, disconnected, never connected) is released within a minute: quiet
    # for 30 s, noticed at the next check, every 10 s.
    unconnected = voila_limits.DashboardKernels.unconnected_timeout.default_value
    assert (unconnected, dashboards.CULL_INTERVAL_S) == (30, 10)
    assert f"--MappingKernelManager.cull_interval={dashboards.CULL_INTERVAL_S}" in command(s)


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
    hurrying = [
        c
        for c in preheating.__mro__
        if "get_rendered_notebook" in vars(c)
        and vars(c)["get_rendered_notebook"].__qualname__.startswith("_hurrying.")
    ]
    assert len(hurrying) == 1
    plain = voila.app.voila_kernel_manager_factory(AsyncMappingKernelManager, False, 0)
    assert [c.__qualname__ for c in plain.__mro__].count("DashboardKernels") == 1


def test_only_top_level_notebooks_are_public():
    paths = ["index.ipynb", "workspace/upload.ipynb", "../x.ipynb", ".x.ipynb", "", None, "a\\b"]
    assert [p for p in paths if dashboards.is_public(p)] == ["index.ipynb"]
    pages = ["index.ipynb", "object.ipynb", "profile.ipynb", "search.ipynb", "variables.ipynb"]
    assert preheated_pages(DASHBOARDS) == pages
    assert (DASHBOARDS / "workspace" / "upload.ipynb").is_file()
    assert HubSettings(home=Path("/x")).workspace_dashboards_dir == DASHBOARDS / "workspace"


# -- the service --------------------------------------------------------------------------------


class Service:
    """The dashboards service in a subprocess: its URL, log, process and kernel processes."""

    def __init__(
        self,
        catalogue,
        tmp_path: Path,
        *,
        max_kernels: int,
        idle_timeout: int,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        service = voila_arguments(
            DASHBOARDS,
            port=self.port,
            idle_timeout=idle_timeout,
            pool_size=1,
            max_kernels=max_kernels,
            base_url=BASE,
        )
        # An option given twice stops Voila: the test's own replace the service's.
        replaced = tuple(a.split("=")[0] for a in extra)
        service = [a for a in service if not a.startswith(replaced)]
        argv = [
            sys.executable,
            "-m",
            "aphos_lib.hub.dashboards",
            *service,
            "--Voila.config_file_paths=[]",
            *extra,
        ]
        config_dir = tempfile.mkdtemp(prefix="aphos-voila-config-", dir=tmp_path)
        env = {
            **os.environ,
            **service_environment(catalogue, "reader"),
            "JUPYTER_CONFIG_DIR": config_dir,
            "PYTHONUNBUFFERED": "1",
        }
        self.log = tmp_path / "voila.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
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
        self.wait(
            lambda: self.log.read_text().count("is filled with") >= POOLED, "the pools filled"
        )

    def interrupt(self) -> float:
        """Ctrl-C, as ``make demo`` hands it to the service; seconds until it exited."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)  # every thread's stack, into the log
            time.sleep(1)
            pytest.fail("no exit 30 s after SIGINT; its threads:\n" + self.log.read_text()[-6000:])
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
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
        f"api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
    )
    return await websocket_connect(ws_url, connect_timeout=30)


@pytest.fixture
def small_service(tmp_path, catalogue):
    """The service on an empty catalogue: at most 2 kernels, released 6 s after their page
    goes, culled after 30 s idle, checked every 2 s."""
    service = Service(
        catalogue,
        tmp_path,
        max_kernels=2,
        idle_timeout=30,
        extra=(
            "--DashboardKernels.unconnected_timeout=6",
            "--MappingKernelManager.cull_interval=2",
        ),
    )
    try:
        service.ready()
        yield service
    finally:
        service.stop()


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.parametrize("server", ["embedded"], indirect=True)
def test_public_pages_only_and_kernels_bounded_and_released(small_service):
    s = small_service
    get = lambda path, **kw: httpx.get(s.url + path, timeout=120, **kw)  # noqa: E731

    # No file tree, no contents API, no upload page (the observer's own server has it).
    home = get("")
    assert (home.status_code, home.headers["location"]) == (302, BASE + "voila/render/index.ipynb")
    for path in (
        "voila/tree",
        "voila/tree/workspace",
        "voila/api/contents",
        "voila/api/contents/workspace",
        "voila/render/workspace/upload.ipynb",
        "voila/render/workspace%2Fupload.ipynb",
        "voila/render/upload.ipynb",
    ):
        assert get(path).status_code == 404, path
    assert "Kernel pool of workspace" not in s.log.read_text()
    assert s.health() == {
        "held_kernels": 0,
        "max_kernels": 2,
        "preheated": POOLED,
        "kernels": POOLED,
        "busy_answers": 0,
    }
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
    assert s.health() == {
        "held_kernels": 2,
        "max_kernels": 2,
        "preheated": POOLED,
        "kernels": POOLED + 2,
        "busy_answers": 1,
    }
    assert len(s.kernel_processes()) == POOLED + 2

    # Nobody connected to them: both are shut down 6 s after their page was sent (checked
    # every 2 s), the pool stays.
    released = s.wait(
        lambda: s.health()["held_kernels"] == 0, "the unconnected kernels going", timeout=30
    )
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
    s.wait(
        lambda: s.health()["held_kernels"] == 0 and len(s.kernel_processes()) == POOLED,
        "only the pool left",
        timeout=30,
    )
    assert "Traceback" not in s.log.read_text()


# -- the flood ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.parametrize("server", ["embedded"], indirect=True)
def test_one_visitor_cannot_take_every_kernel(tmp_path, catalogue):
    # A ceiling of 3: each client address may hold 2 (per_client_share).
    s = Service(catalogue, tmp_path, max_kernels=3, idle_timeout=30)
    try:
        s.ready()

        def view(*hops: str) -> httpx.Response:
            headers = {"X-Forwarded-For": ", ".join(hops)}
            return httpx.get(s.url + "voila/render/index.ipynb", headers=headers, timeout=120)

        first, second = view("203.0.113.5"), view("203.0.113.5")
        assert (first.status_code, second.status_code) == (200, 200)
        third = view("203.0.113.5")
        assert third.status_code == 503 and "You have several dashboards open" in third.text
        # A client that writes another address in front of its own is still itself.
        spoofed = view("198.51.100.7", "203.0.113.5")
        assert spoofed.status_code == 503 and "You have several dashboards open" in spoofed.text
        other = view("198.51.100.7")
        assert other.status_code == 200 and KERNEL_ID.search(other.text)
        # The ceiling is reached: everyone else gets the busy page.
        late = view("192.0.2.44")
        assert late.status_code == 503 and "The dashboards are busy" in late.text
        assert s.health()["held_kernels"] == 3
        assert "Traceback" not in s.log.read_text()
        # Ctrl-C with kernels held and the pools full: every kernel goes at once, quietly.
        kernels = s.kernel_processes()
        assert len(kernels) > 3  # the held ones and the pools (refilling)
        took = s.interrupt()
        log = s.log.read_text()
        assert took < 10 and "Traceback" not in log and "ZMQError" not in log, log[-3000:]
        _, alive = psutil.wait_procs(kernels, timeout=5)
        assert not alive
    finally:
        s.stop()


# 2.5 views a second for a minute: the ceiling is reached within seconds, then held.
FLOOD_VIEWS = 150
FLOOD_SECONDS = 60
FLOOD_MAX_KERNELS = 6
FLOOD_IDLE_TIMEOUT = 25
# Shorter than the idle timeout, as in production (30 s against 300 s).
FLOOD_UNCONNECTED_TIMEOUT = 10
# What the service may hold, stated: the Voila process (about 150 MB) and at most its ceiling
# of visitors' kernels plus the pool (one per page, refilled when taken), 300 MB each (about
# 220 MB measured for a viewed page).
SERVER_BYTES = 400 * 2**20
FLOOD_RSS_CEILING = SERVER_BYTES + (FLOOD_MAX_KERNELS + POOLED) * 300 * 2**20
FLOOD_PAGES = [
    "voila/render/index.ipynb",
    "voila/render/search.ipynb?ra=21+30+59&dec=%2B70+49+23&radius=30arcmin",
    f"voila/render/object.ipynb?variable={GK_CEP}&comparison={GK_CMP}",
    "voila/render/profile.ipynb?username=novak",
]
SEARCHES = ["objects?name=GK", "objects?ra=21+30+59.15&dec=%2B70+49+23.58&radius=5arcmin"]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


async def _flood(service: Service, api_url: str) -> dict:
    """150 anonymous views in a minute, every third a browser that opens the page's kernel
    websocket for 5-20 s (half of them send the closing page's beacon); meanwhile searches on
    the REST API, and the service's memory and kernels sampled every second."""
    rng = random.Random(19)
    views: list[dict] = []
    searches: list[tuple[float, int]] = []
    samples: list[dict] = []
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=FLOOD_VIEWS + 10)
    async with httpx.AsyncClient(timeout=90, limits=limits) as client:

        async def view(number: int, path: str) -> None:
            browser = number % 3 == 0
            started = time.monotonic()
            try:
                # Each view another visitor's address, as the hub's proxy would forward it.
                visitor = f"10.19.{number // 200}.{number % 200 + 1}"
                r = await client.get(service.url + path, headers={"X-Forwarded-For": visitor})
            except httpx.HTTPError as error:
                views.append(
                    {"status": type(error).__name__, "seconds": time.monotonic() - started}
                )
                return
            views.append(
                {
                    "status": r.status_code,
                    "seconds": time.monotonic() - started,
                    "retry_after": r.headers.get("retry-after"),
                    "busy_page": "The dashboards are busy" in r.text,
                    "kernel": bool(KERNEL_ID.search(r.text)),
                    "browser": browser,
                }
            )
            if browser and r.status_code == 200:
                kernel_id = _kernel_id(r.text)
                ws = await _connect(service.url, kernel_id)
                await asyncio.sleep(rng.uniform(5, 20))
                if number % 2 == 0:  # the page's beforeunload beacon, then the tab goes
                    await client.post(service.url + f"voila/api/shutdown/{kernel_id}")
                ws.close()

        async def probe() -> None:
            for n in range(10**6):
                if done.is_set():
                    return
                started = time.monotonic()
                r = await client.get(f"{api_url}/api/v2/{SEARCHES[n % 2]}", timeout=30)
                searches.append((time.monotonic() - started, r.status_code))
                await asyncio.sleep(0.5)

        async def sample() -> None:
            while not done.is_set():
                health = (await client.get(service.url + "health")).json()
                samples.append(
                    {
                        "t": time.monotonic(),
                        "rss": service.resident_bytes(),
                        "processes": len(service.kernel_processes()),
                        **health,
                    }
                )
                await asyncio.sleep(1)

        background = [asyncio.create_task(probe()), asyncio.create_task(sample())]
        await asyncio.sleep(5)
        baseline = [seconds for seconds, _ in searches]
        searches.clear()
        started = time.monotonic()
        tasks = []
        for number in range(FLOOD_VIEWS):
            await asyncio.sleep(
                max(0.0, started + number * FLOOD_SECONDS / FLOOD_VIEWS - time.monotonic())
            )
            tasks.append(asyncio.create_task(view(number, rng.choice(FLOOD_PAGES))))
        sent = time.monotonic() - started
        await asyncio.gather(*tasks)
        flood_searches = list(searches)
        answered = time.monotonic() - started
        # Idle: until only the pool is left, as the service and as processes.
        while not (samples[-1]["held_kernels"] == 0 and samples[-1]["processes"] == POOLED):
            assert time.monotonic() - started < answered + 150, samples[-1]
            await asyncio.sleep(1)
        drained = time.monotonic() - started
        done.set()
        await asyncio.gather(*background)
    return {
        "views": views,
        "baseline": baseline,
        "searches": flood_searches,
        "samples": samples,
        "sent": sent,
        "answered": answered,
        "drained": drained,
    }


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.parametrize("demo_catalogue", ["embedded"], indirect=True)
def test_a_flood_of_anonymous_views_cannot_exhaust_the_memory(tmp_path, demo_catalogue, api_url):
    service = Service(
        demo_catalogue,
        tmp_path,
        max_kernels=FLOOD_MAX_KERNELS,
        idle_timeout=FLOOD_IDLE_TIMEOUT,
        extra=(f"--DashboardKernels.unconnected_timeout={FLOOD_UNCONNECTED_TIMEOUT}",),
    )
    try:
        service.ready()
        result = asyncio.run(_flood(service, api_url))
        log = service.log.read_text()
    finally:
        service.stop()

    views, samples = result["views"], result["samples"]
    statuses = Counter(v["status"] for v in views)
    seconds = [v["seconds"] for v in views]
    search_seconds = [s for s, _ in result["searches"]]
    report = {
        "views": dict(statuses),
        "browsers": sum(v.get("browser", False) for v in views),
        "page_seconds_median": statistics.median(seconds),
        "page_seconds_max": max(seconds),
        "busy_seconds_max": max([v["seconds"] for v in views if v["status"] == 503], default=0),
        "search_p95_ms_before": 1000 * _p95(result["baseline"]),
        "search_p95_ms_during": 1000 * _p95(search_seconds),
        "search_max_ms_during": 1000 * max(search_seconds),
        "searches": len(search_seconds),
        "peak_rss_mb": max(s["rss"] for s in samples) / 2**20,
        "rss_ceiling_mb": FLOOD_RSS_CEILING / 2**20,
        "peak_held": max(s["held_kernels"] for s in samples),
        "peak_kernel_processes": max(s["processes"] for s in samples),
        "final_kernel_processes": samples[-1]["processes"],
        "sent_s": result["sent"],
        "answered_s": result["answered"],
        "drained_s_after_answers": result["drained"] - result["answered"],
        "culled_unconnected": log.count("Culling unconnected kernel"),
        "culled_idle": len(re.findall(r"Culling 'idle' kernel", log)),
    }
    print("\nflood:", json.dumps(report, indent=1))

    # Every visitor got a page or the busy page, never an error or a hang.
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] >= FLOOD_MAX_KERNELS and statuses[503] > 0
    assert all(v["kernel"] for v in views if v["status"] == 200)
    assert all(v["busy_page"] and v["retry_after"] == "5" for v in views if v["status"] == 503)
    # The busy page costs nothing, but waits its turn in Voila's loop while pages stream.
    assert report["busy_seconds_max"] < 10
    assert report["page_seconds_max"] < 60
    assert "Traceback" not in log
    # Visitors never held more than the ceiling; the memory stayed under the stated one.
    assert report["peak_held"] <= FLOOD_MAX_KERNELS
    assert report["peak_rss_mb"] < report["rss_ceiling_mb"]
    # The platform kept answering: every search, with a p95 under a second.
    assert all(status == 200 for _, status in result["searches"])
    assert report["search_p95_ms_during"] < 1000
    # Then idle: back to the preheated pool, within the release time (10 s quiet, checked
    # every 10 s) after the last browser closed (at most 20 s after the last answer).
    assert report["final_kernel_processes"] == POOLED
    assert report["drained_s_after_answers"] < 20 + FLOOD_UNCONNECTED_TIMEOUT + 10 + 15


def test_culling_skips_a_kernel_still_starting_instead_of_logging_a_traceback():
    """jupyter_server's culler asks a starting kernel for its ``last_activity``, not set yet:
    a TraitError, logged with its traceback (seen in the flood test's log)."""
    import asyncio

    from jupyter_server.services.kernels.kernelmanager import (
        AsyncMappingKernelManager,
        ServerKernelManager,
    )

    dashboards.install()
    voila_pool.install()
    voila_limits.install()
    import voila.app

    manager = voila.app.voila_kernel_manager_factory(AsyncMappingKernelManager, False, 0)()
    starting = ServerKernelManager()
    assert not starting.trait_has_value("last_activity")
    manager._kernels["k-starting"] = starting
    assert asyncio.run(manager.cull_kernel_if_idle("k-starting")) is None
    assert "k-starting" in manager._kernels  # not culled either
