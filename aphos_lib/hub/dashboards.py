"""The ``dashboards`` service: Voila serving the public pages of ``dashboards/`` to anyone.

Run by the hub as ``python -m aphos_lib.hub.dashboards ARGS...`` (see :func:`command`), which
starts Voila (:func:`app_class`) with ARGS and makes sure the process ends as soon as it stops.

The public pages are the notebooks at the top of ``dashboards/``; its subfolders are never
served (``dashboards/workspace/`` holds the upload page, which runs in the observer's own
server, signed in: :attr:`aphos_lib.hub.settings.HubSettings.workspace_dashboards_dir`). The
service shows no file tree: its root leads to ``index.ipynb``. Page views hold bounded kernels
(:mod:`aphos_lib.hub.voila_limits`); ``health`` reports them.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import tornado.web
from traitlets.config import Config

from aphos_lib.hub import voila_limits, voila_pool
from aphos_lib.hub.settings import HubSettings

__all__ = [
    "CULL_INTERVAL_S",
    "REFILL_DELAY_S",
    "STOP_WITHIN_S",
    "app_class",
    "command",
    "install",
    "is_public",
    "main",
    "page_extensions",
    "preheat_options",
    "preheated_pages",
    "service_config",
    "voila_arguments",
]

# How often the kernels are checked: a page gone is released within this plus
# voila_limits.DashboardKernels.unconnected_timeout (30 s), so within a minute.
CULL_INTERVAL_S = 10
# Voila refills a page's pool this long after a request took a kernel from it. Sooner, the
# refill's start and imports compete for the CPU with the page being opened (0.3-1 s slower on
# 2 vCPUs); later, a request that finds the refill still waiting out its delay waits with it
# (a third object page within seconds took over 5 s with one kernel per page and 6 s). With
# two kernels per page and 2.5 s, bench/dashboard.py opened the object page in 2.13 s median
# back to back and 2.14 s with 6 s between views, against 2.87 s for a fresh kernel each.
REFILL_DELAY_S = 2.5

# Voila loads the JavaScript of every installed JupyterLab extension on every page: 7.5 MB
# downloaded and parsed by each view. bqplot's three extensions (2.3 MB) serve only the pages
# that draw a plot; without them a view of any other page opened about 0.3 s sooner in
# Chromium (bench/dashboard.py). ipydatagrid's (0.7 MB) serve no page; it is no dependency
# but may be installed beside APhoS.
PLOT_EXTENSIONS = frozenset({"bqplot", "bqplot-gl", "bqscales"})
PAGES_WITH_PLOTS = frozenset({"object.ipynb", "variables.ipynb"})
UNUSED_EXTENSIONS = frozenset({"ipydatagrid"})


def preheat_options(pool_size: int) -> list[str]:
    """Voila's options for ``pool_size`` preheated kernels per dashboard (none when 0).

    A preheated kernel has started and run its page's imports before anyone asks for the page,
    then waits in :func:`aphos_lib.widgets.urls.wait_for_page_request` for a request's address;
    the pool refills :data:`REFILL_DELAY_S` after a request takes one. Voila never culls a kernel
    still in the pool; one a request took is culled like any other when idle. Only the public
    pages get a pool (:meth:`aphos_lib.hub.voila_limits.DashboardKernels._notebook_filter`).
    """
    if pool_size <= 0:
        return []
    return [
        "--VoilaConfiguration.preheat_kernel=True",
        f"--VoilaConfiguration.default_pool_size={pool_size}",
        f"--VoilaKernelManager.fill_delay={REFILL_DELAY_S}",
    ]


def preheated_pages(dashboards_dir: Path) -> list[str]:
    """The public dashboards, each with a pool of preheated kernels: the top-level notebooks."""
    return sorted(p.name for p in Path(dashboards_dir).glob("*.ipynb"))


def is_public(path: str | None) -> bool:
    """Whether the service renders ``path`` (relative to ``dashboards/``, URL-decoded).

    Examples
    --------
    >>> is_public("search.ipynb"), is_public("workspace/upload.ipynb"), is_public("../x.ipynb")
    (True, False, False)
    """
    return bool(path) and "/" not in path and "\\" not in path and not path.startswith(".")


def voila_arguments(
    dashboards_dir: Path,
    *,
    port: int,
    idle_timeout: int,
    pool_size: int,
    max_kernels: int = 0,
    base_url: str = "/",
    ip: str = "127.0.0.1",
) -> list[str]:
    """Voila's arguments as the service runs it (the hub, the browser tests, the benchmark).

    Run them with ``python -m aphos_lib.hub.dashboards``, which also bounds the kernels and
    lets a closing tab shut its kernel down (see :func:`service_config`).
    ``hub_config/k8s/services.yaml`` spells them out for a container (``ip="0.0.0.0"``); a
    test keeps the two the same. ``max_kernels`` 0 lets the service derive it from its memory.
    """
    ceiling = [f"--DashboardKernels.max_kernels={max_kernels}"] if max_kernels > 0 else []
    return [
        str(dashboards_dir),
        "--no-browser",
        f"--Voila.ip={ip}",
        f"--Voila.port={port}",
        f"--Voila.base_url={base_url}",
        # Voila starts a kernel per page view and never reaps it: cull idle ones, even while a
        # browser tab still holds the connection (docs/architecture.md, pitfalls); a kernel with no
        # page connected goes sooner (voila_limits).
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL_S}",
        f"--MappingKernelManager.cull_idle_timeout={idle_timeout}",
        "--MappingKernelManager.cull_connected=True",
        # Unix sockets, not TCP ports: a pool of kernels starting at once raced for free ports
        # (a preheated kernel failed five restarts with "Address already in use" in CI), and
        # local TCP is unencrypted. Voila keeps the sockets in its temporary connection folder.
        "--KernelManager.transport=ipc",
        *ceiling,
        *preheat_options(pool_size),
    ]


def command(s: HubSettings) -> list[str]:
    """The service's command line for the hub."""
    arguments = voila_arguments(
        s.dashboards_dir,
        port=s.internal_port("dashboards"),
        base_url="/services/dashboards/",
        idle_timeout=s.dashboard_kernel_idle_timeout,
        pool_size=s.dashboard_kernel_pool,
        max_kernels=s.dashboard_max_kernels,
    )
    return [sys.executable, "-m", "aphos_lib.hub.dashboards", *arguments]


def page_extensions(page_config: dict, *, notebook_path: str, **_) -> dict:
    """Voila's ``page_config_hook``: the page loads only the extensions its widgets need.

    Examples
    --------
    >>> config = {"federated_extensions": [{"name": n} for n in ("anywidget", "bqplot")]}
    >>> [e["name"] for e in page_extensions(config, notebook_path="search.ipynb")
    ...  ["federated_extensions"]]
    ['anywidget']
    """
    unused = UNUSED_EXTENSIONS
    if Path(notebook_path).name not in PAGES_WITH_PLOTS:
        unused = unused | PLOT_EXTENSIONS
    extensions = page_config.get("federated_extensions", [])
    page_config["federated_extensions"] = [e for e in extensions if e["name"] not in unused]
    return page_config


def service_config() -> Config:
    """What the service sets beyond its arguments.

    A page that closes asks Voila to shut its kernel down with ``navigator.sendBeacon``,
    which cannot carry an XSRF token, so Voila refused it (403, voila-dashboards/voila#1458)
    and every closed tab held a kernel until culling. The service has no sign-in and no
    session to protect (anyone may open a page, which starts a kernel), so it checks no XSRF
    token; the only other request it would check is that same shutdown, of a kernel whose
    random id only its page knows.

    Each page loads only the JupyterLab extensions it needs (:func:`page_extensions`).
    """
    config = Config()
    config.Voila.tornado_settings = {"disable_check_xsrf": True}
    config.VoilaConfiguration.page_config_hook = page_extensions
    return config


class _PublicPageHandler:
    """Voila's page handler for the public pages only, under the kernel ceiling."""

    async def get(self, path=None):
        if not is_public(path):
            raise tornado.web.HTTPError(404)
        client = voila_limits.client_address(
            self.request.remote_ip, self.request.headers.get("X-Forwarded-For")
        )
        with self.kernel_manager.request_slot(client) as slot:
            if slot.refused:
                self.set_status(503)
                self.set_header("Retry-After", str(voila_limits.RETRY_AFTER_S))
                self.set_header("Cache-Control", "no-store")
                self.set_header("Content-Type", "text/html; charset=utf-8")
                self.finish(voila_limits.busy_page(own_share=slot.refused == "share"))
                return
            await super().get(path)


class _HealthHandler(tornado.web.RequestHandler):
    """``GET health``: the kernels visitors hold, the ceiling, the pool; it starts none."""

    def get(self):
        kernels = self.settings["kernel_manager"]
        state = {
            "held_kernels": kernels.held_kernels,
            "max_kernels": kernels.max_kernels,
            "preheated": kernels.preheated,
            "kernels": len(kernels.list_kernel_ids()),
            "busy_answers": kernels.busy_answers,
        }
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(state))


def app_class() -> type:
    """:class:`voila.app.Voila` as the service runs it: no file tree, the public pages only,
    bounded kernels (with :func:`install`), and ``health``.

    A function: Voila is imported only when the service starts, not by the hub's configuration.
    """
    from jupyter_server.utils import url_path_join
    from voila.app import Voila
    from voila.tornado.contentshandler import VoilaContentsHandler
    from voila.tornado.handler import TornadoVoilaHandler
    from voila.tornado.treehandler import TornadoVoilaTreeHandler

    page_handler = type("PublicPageHandler", (_PublicPageHandler, TornadoVoilaHandler), {})

    class DashboardsVoila(Voila):
        def _handle_signal_stop(self, sig, frame) -> None:
            _bound_the_stop()  # the hub's SIGTERM
            super()._handle_signal_stop(sig, frame)

        def init_handlers(self) -> list:
            index = url_path_join(self.server_url, "voila/render/index.ipynb")
            to_index = (tornado.web.RedirectHandler, {"url": index, "permanent": False})
            handlers = [
                (self.server_url, *to_index),
                (url_path_join(self.server_url, "health"), _HealthHandler),
            ]
            if self.server_url.rstrip("/"):
                # The root typed without its slash (/services/dashboards) leads home too.
                handlers.append((self.server_url.rstrip("/"), *to_index))
            for handler in super().init_handlers():
                if handler[1] in (TornadoVoilaTreeHandler, VoilaContentsHandler):
                    continue  # the tree and the contents API would list every file
                if handler[1] is TornadoVoilaHandler:
                    handler = (handler[0], page_handler, *handler[2:])
                handlers.append(handler)
            return handlers

    return DashboardsVoila


def install() -> None:
    """Patch Voila's kernel manager factory: the pool's refill, then the bounds (idempotent)."""
    voila_pool.install()
    voila_limits.install()


# Ctrl-C of make demo ends everything within 10 s, and the hub waits 10 s after its SIGTERM.
# On a loaded machine Voila's own stop waited past 30 s (on a kernel still starting for a
# pool's refill): from the signal on, a watchdog gives it STOP_WITHIN_S, then kills the
# kernels and ends the process, whatever still waits.
STOP_WITHIN_S = 6.0
_stop_bounded = threading.Event()


def _bound_the_stop() -> None:
    """Arm the stop's watchdog (once): kernels killed and the process ended in STOP_WITHIN_S."""
    if _stop_bounded.is_set():
        return
    _stop_bounded.set()

    def watchdog() -> None:
        time.sleep(STOP_WITHIN_S)
        import psutil

        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        sys.stderr.write(f"The dashboards service did not stop within {STOP_WITHIN_S:g} s: ended\n")
        _leave(0)

    threading.Thread(target=watchdog, name="stop-watchdog", daemon=True).start()


def _on_interrupt(signum, frame) -> None:
    _bound_the_stop()
    signal.default_int_handler(signum, frame)  # KeyboardInterrupt: Voila's own stop


def _leave(status: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def main(argv: list[str] | None = None) -> None:
    """Run the service's Voila; exit the process as soon as it returns.

    Its stop (Ctrl-C, or the hub's SIGTERM) is bounded by :data:`STOP_WITHIN_S`; SIGUSR1
    prints every thread's stack to stderr (the service's log), for a stop that hangs.
    """
    install()
    signal.signal(signal.SIGINT, _on_interrupt)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    status = 0
    try:
        argv = argv if argv is not None else sys.argv[1:]
        app_class().launch_instance(argv, config=service_config())
    except Exception:
        traceback.print_exc()  # os._exit below would end the process before Python prints it
        status = 1
    finally:
        # Voila leaves its loop on SIGINT but a leftover thread keeps the process alive, and
        # the hub then waits 10 s before it sends SIGTERM: end here instead.
        _leave(status)


if __name__ == "__main__":
    main()
