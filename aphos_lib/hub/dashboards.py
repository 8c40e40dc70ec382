"""The ``dashboards`` service: Voila serving ``dashboards/`` to anyone, with kernel culling.

Run by the hub as ``python -m aphos_lib.hub.dashboards ARGS...`` (see :func:`command`), which
starts Voila with ARGS and makes sure the process ends as soon as Voila stops.
"""

from __future__ import annotations

import os
import sys

from aphos_lib.hub.settings import HubSettings

__all__ = ["command", "main"]


def command(s: HubSettings) -> list[str]:
    """The service's command line for the hub."""
    return [sys.executable, "-m", "aphos_lib.hub.dashboards", str(s.dashboards_dir),
            "--no-browser", "--Voila.ip=127.0.0.1",
            f"--Voila.port={s.internal_port('dashboards')}",
            "--Voila.base_url=/services/dashboards/",
            # Voila starts a kernel per page view and never reaps it: cull idle ones, even
            # while a browser tab still holds the connection (ARCHITECTURE.md, pitfalls).
            "--MappingKernelManager.cull_interval=30",
            f"--MappingKernelManager.cull_idle_timeout={s.dashboard_kernel_idle_timeout}",
            "--MappingKernelManager.cull_connected=False"]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """Run Voila; exit the process as soon as it returns."""
    from voila.app import Voila

    try:
        Voila.launch_instance(argv if argv is not None else sys.argv[1:])
    finally:
        # Voila leaves its loop on SIGINT but a leftover thread keeps the process alive, and
        # the hub then waits 10 s before it sends SIGTERM: end here instead.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
