"""The ``dashboards`` service: Voila serving ``dashboards/`` to anyone, with kernel culling.

Run by the hub as ``python -m aphos_lib.hub.dashboards ARGS...`` (see :func:`command`), which
starts Voila with ARGS and makes sure the process ends as soon as Voila stops.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from traitlets.config import Config

from aphos_lib.hub import voila_pool
from aphos_lib.hub.settings import HubSettings

__all__ = ["REFILL_DELAY_S", "command", "main", "preheat_options", "preheated_pages",
           "service_config", "voila_arguments"]

# The observer's own server runs the upload page, signed in; the public service never should.
_NOT_PREHEATED = ["upload.ipynb"]
# Voila refills a page's pool this long after a request took a kernel from it. Sooner, the
# refill's start and imports compete for the CPU with the page being opened (0.3-1 s slower on
# 2 vCPUs); later, a request that finds the refill still waiting out its delay waits with it
# (a third object page within seconds took over 5 s with one kernel per page and 6 s). With
# two kernels per page and 2.5 s, bench/dashboard.py opened the object page in 2.13 s median
# back to back and 2.14 s with 6 s between views, against 2.87 s for a fresh kernel each.
REFILL_DELAY_S = 2.5


def preheat_options(pool_size: int) -> list[str]:
    """Voila's options for ``pool_size`` preheated kernels per dashboard (none when 0).

    A preheated kernel has started and run its page's imports before anyone asks for the page,
    then waits in :func:`aphos_lib.widgets.urls.wait_for_page_request` for a request's address;
    the pool refills :data:`REFILL_DELAY_S` after a request takes one. Voila never culls a kernel
    still in the pool; one a request took is culled like any other when idle.
    """
    if pool_size <= 0:
        return []
    return ["--VoilaConfiguration.preheat_kernel=True",
            f"--VoilaConfiguration.default_pool_size={pool_size}",
            f"--VoilaKernelManager.fill_delay={REFILL_DELAY_S}",
            f"--VoilaKernelManager.preheat_denylist={_NOT_PREHEATED!r}"]  # fmt: skip


def preheated_pages(dashboards_dir: Path) -> list[str]:
    """The dashboards that get a pool of preheated kernels (all but the upload page)."""
    return sorted(p.name for p in Path(dashboards_dir).glob("*.ipynb")
                  if p.name not in _NOT_PREHEATED)  # fmt: skip


def voila_arguments(dashboards_dir: Path, *, port: int, idle_timeout: int, pool_size: int,
                    base_url: str = "/", ip: str = "127.0.0.1") -> list[str]:  # fmt: skip
    """Voila's arguments as the service runs it (the hub, the browser tests, the benchmark).

    Run them with ``python -m aphos_lib.hub.dashboards``, which also lets a closing tab shut
    its kernel down (see :func:`service_config`). ``hub_config/k8s/services.yaml`` spells
    them out for a container (``ip="0.0.0.0"``); a test keeps the two the same.
    """
    return [str(dashboards_dir), "--no-browser", f"--Voila.ip={ip}",
            f"--Voila.port={port}", f"--Voila.base_url={base_url}",
            # Voila starts a kernel per page view and never reaps it: cull idle ones, even
            # while a browser tab still holds the connection (ARCHITECTURE.md, pitfalls).
            "--MappingKernelManager.cull_interval=30",
            f"--MappingKernelManager.cull_idle_timeout={idle_timeout}",
            "--MappingKernelManager.cull_connected=False",
            *preheat_options(pool_size)]  # fmt: skip


def command(s: HubSettings) -> list[str]:
    """The service's command line for the hub."""
    return [sys.executable, "-m", "aphos_lib.hub.dashboards",
            *voila_arguments(s.dashboards_dir, port=s.internal_port("dashboards"),
                             base_url="/services/dashboards/",
                             idle_timeout=s.dashboard_kernel_idle_timeout,
                             pool_size=s.dashboard_kernel_pool)]  # fmt: skip


def service_config() -> Config:
    """What the service sets beyond its arguments.

    A page that closes asks Voila to shut its kernel down with ``navigator.sendBeacon``,
    which cannot carry an XSRF token, so Voila refused it (403, voila-dashboards/voila#1458)
    and every closed tab held a kernel until culling. The service has no sign-in and no
    session to protect (anyone may open a page, which starts a kernel), so it checks no XSRF
    token; the only other request it would check is that same shutdown, of a kernel whose
    random id only its page knows.
    """
    config = Config()
    config.Voila.tornado_settings = {"disable_check_xsrf": True}
    return config


def main(argv: list[str] | None = None) -> None:
    """Run Voila; exit the process as soon as it returns."""
    from voila.app import Voila

    voila_pool.install()
    try:
        Voila.launch_instance(argv if argv is not None else sys.argv[1:], config=service_config())
    finally:
        # Voila leaves its loop on SIGINT but a leftover thread keeps the process alive, and
        # the hub then waits 10 s before it sends SIGTERM: end here instead.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
