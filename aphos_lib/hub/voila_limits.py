"""Voila's kernels, bounded: released soon after their page goes, and never more than a ceiling.

Voila starts (or takes from its preheated pool) one kernel per page view, about 220 MB each,
and jupyter_server's culling alone keeps it for the whole idle timeout, even when nobody ever
connected to it (a bot, ``curl``, a tab closed before its page loaded). Here:

- a kernel a visitor holds with no websocket connected is shut down once it has been quiet
  (no kernel activity, no connection) for :attr:`DashboardKernels.unconnected_timeout`
  seconds: a plain GET, a closed or disconnected page, a page whose beacon never arrived;
- a kernel with its page still connected is culled by jupyter_server after
  ``MappingKernelManager.cull_idle_timeout`` seconds without kernel activity
  (``cull_connected=True``: an open tab that nobody touches does not keep it);
- only the notebooks at the top of the folder get a preheated pool (the service serves no
  other);
- visitors hold at most :attr:`DashboardKernels.max_kernels` kernels (the preheated pool is
  not counted: it is a fixed number), and one client (:func:`client_address`) at most
  :attr:`DashboardKernels.max_kernels_per_client` of them, so that one script cannot keep
  every other visitor out; a view beyond gets :func:`busy_page`, a 503 that retries itself,
  without starting or taking a kernel.

:func:`install` wraps Voila's kernel manager factory (as :mod:`aphos_lib.hub.voila_pool`
does) so the manager counts the kernels it hands to requests; the dashboards service's request
handler asks it for a slot (:meth:`DashboardKernels.request_slot`) before rendering a page.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jupyter_core.utils import ensure_async
from traitlets import Integer
from traitlets.config import LoggingConfigurable

__all__ = [
    "KERNEL_BYTES",
    "RETRY_AFTER_S",
    "DashboardKernels",
    "Slot",
    "busy_page",
    "client_address",
    "install",
    "kernel_ceiling",
    "machine_memory",
    "per_client_share",
]

# What one page's kernel costs: 220 MB of RSS measured for a search page's kernel after its
# view (issue 19), rounded up for the object page's light curves.
KERNEL_BYTES = 250 * 2**20
# How soon the busy page asks to be tried again: about the time a page's kernel takes to start
# and render, so a visitor rarely waits longer than the wait they were spared.
RETRY_AFTER_S = 5

# The request being rendered in this task: its slot, so that the kernel it gets is counted on it.
_SLOT: contextvars.ContextVar[Slot | None] = contextvars.ContextVar("aphos_slot", default=None)


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its container's limit if lower.

    Reads cgroup v2's ``memory.max`` (or v1's ``memory.limit_in_bytes``), as a Kubernetes pod
    or a ``docker run -m`` sees it; the physical memory otherwise.
    """
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in (
        Path("/sys/fs/cgroup/memory.max"),
        Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
    ):
        try:
            value = limit.read_text().strip()
        except OSError:
            continue
        if value.isdigit():  # "max" when unlimited
            total = min(total, int(value))
    return total


def kernel_ceiling(memory: int, preheated: int) -> int:
    """How many kernels visitors may hold: half of ``memory`` in :data:`KERNEL_BYTES` kernels,
    less the ``preheated`` pool, and at least one.

    The other half is for PostgreSQL, the hub, the api, the worker and the observers' own
    servers on the same machine.

    Examples
    --------
    >>> kernel_ceiling(24 * 2**30, preheated=8)  # 24 GiB, two preheated kernels for 4 pages
    41
    >>> kernel_ceiling(2**30, preheated=8)
    1
    """
    return max(1, memory // 2 // KERNEL_BYTES - preheated)


def per_client_share(max_kernels: int) -> int:
    """How many of the ``max_kernels`` one client may hold: a quarter, at least two.

    Two lets one visitor keep the search page and an object page open together.

    Examples
    --------
    >>> per_client_share(41), per_client_share(4), per_client_share(1)
    (10, 2, 1)
    """
    return min(max_kernels, max(2, max_kernels // 4))


def _trusted_hop(address: str) -> bool:
    """A proxy of this machine's own (loopback): the hub's proxy, or one in front of it."""
    try:
        return ipaddress.ip_address(address.strip()).is_loopback
    except ValueError:
        return False


def client_address(remote_ip: str, forwarded_for: str | None) -> str:
    """The visitor's address: the last hop before this machine's own proxies.

    The service is reached through the hub's proxy on loopback, which appends the address it
    was connected from to ``X-Forwarded-For`` (as a proxy in front of it, on loopback too,
    does). Entries a client wrote itself come before those and are never taken, so a client
    cannot pass itself off as another.

    Examples
    --------
    >>> client_address("127.0.0.1", "203.0.113.5")
    '203.0.113.5'
    >>> client_address("127.0.0.1", "198.51.100.7, 203.0.113.5, 127.0.0.1")  # spoofed first
    '203.0.113.5'
    >>> client_address("192.0.2.1", "198.51.100.7")  # not through a local proxy: its own
    '192.0.2.1'
    """
    if not _trusted_hop(remote_ip) or not forwarded_for:
        return remote_ip
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted_hop(hop):
            return hop
    return remote_ip


def busy_page(own_share: bool = False) -> str:
    """The page a visitor beyond the ceiling gets: plain, and reloading itself.

    ``own_share``: this visitor already holds their share of the kernels (other pages open).
    """
    if own_share:
        title = "You have several dashboards open"
        text = (
            f"Your other APhoS pages hold every dashboard one visitor may use at once. "
            f"Close one of them and this page opens by itself within {RETRY_AFTER_S} "
            f"seconds; you can also reload it."
        )
    else:
        title = "The dashboards are busy"
        text = (
            f"Every dashboard is in use right now. This page tries again by itself in "
            f"{RETRY_AFTER_S} seconds; you can also reload it."
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{RETRY_AFTER_S}">
<title>Busy - APhoS</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}}
h1{{font-size:1.4em}} p{{line-height:1.5}}</style></head>
<body><h1 id="aphos-busy">{title}</h1>
<p>{text}</p>
</body></html>"""


@dataclass(eq=False)
class Slot:
    """One page request's place under the ceiling, then the kernel it got."""

    client: str = ""
    kernel_id: str | None = None
    #: Why the request is refused: "" (it is not), "ceiling" or "share" (its client's).
    refused: str = ""


class DashboardKernels(LoggingConfigurable):
    """What :func:`install` adds to Voila's kernel manager: the ceiling and the quick release.

    A mixin: the manager class is ``DashboardKernels`` over Voila's own (preheating or not),
    so ``--DashboardKernels.max_kernels=N`` configures it like any other traitlet.
    """

    max_kernels = Integer(
        0,
        config=True,
        help="Most kernels visitors hold at once (the "
        "preheated pool is not counted); 0: kernel_ceiling() of this "
        "machine's memory",
    )
    max_kernels_per_client = Integer(
        0,
        config=True,
        help="Most kernels one client address holds at once; 0: per_client_share() of max_kernels",
    )
    unconnected_timeout = Integer(
        30,
        config=True,
        help="Seconds a visitor's kernel may stay "
        "quiet with no websocket connected before it is shut down",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._held: dict[str, float] = {}  # kernel id -> since when it is quiet (monotonic)
        self._holders: dict[str, str] = {}  # kernel id -> the client address it was started for
        self._slots: set[Slot] = set()
        self.busy_answers = 0
        pools = getattr(self, "_pools", {})  # Voila's preheated pools, filling from __init__
        self.preheated = sum(len(pool) for pool in pools.values())
        if self.max_kernels <= 0:
            self.max_kernels = kernel_ceiling(machine_memory(), self.preheated)
        if self.max_kernels_per_client <= 0:
            self.max_kernels_per_client = per_client_share(self.max_kernels)
        self.log.info(
            "Visitors hold at most %d dashboard kernels, %d each (%d preheated besides)",
            self.max_kernels,
            self.max_kernels_per_client,
            self.preheated,
        )

    @property
    def held_kernels(self) -> int:
        """Kernels visitors hold now, and requests still waiting for theirs."""
        self._forget_gone()
        return len(self._held) + sum(1 for s in self._slots if s.kernel_id is None)

    def held_by(self, client: str) -> int:
        """Kernels ``client`` holds now, and its requests still waiting for theirs."""
        self._forget_gone()
        held = sum(1 for holder in self._holders.values() if holder == client)
        return held + sum(1 for s in self._slots if s.kernel_id is None and s.client == client)

    def _forget_gone(self) -> None:
        for kernel_id in [k for k in self._held if k not in self._kernels]:
            # Gone by a path that did not tell us (a failed start).
            self._held.pop(kernel_id, None)
            self._holders.pop(kernel_id, None)

    @contextlib.contextmanager
    def request_slot(self, client: str = "") -> Iterator[Slot]:
        """A page request's place under the ceiling while it renders, or a slot whose
        ``refused`` says why the request must get :func:`busy_page` instead.

        Refused when visitors already hold :attr:`max_kernels` kernels, or ``client`` (its
        address, :func:`client_address`) holds :attr:`max_kernels_per_client`. The kernel the
        request gets (in this task, within the ``with``) stays counted until it is shut down.
        """
        slot = Slot(client=client)
        if self.held_kernels >= self.max_kernels:
            slot.refused = "ceiling"
        elif self.held_by(client) >= self.max_kernels_per_client:
            slot.refused = "share"
        if slot.refused:
            self.busy_answers += 1
            yield slot
            return
        self._slots.add(slot)
        token = _SLOT.set(slot)
        try:
            yield slot
        finally:
            _SLOT.reset(token)
            self._slots.discard(slot)

    def _notebook_filter(self, nb_path: Path) -> bool:
        """Preheat the notebooks at the top of the folder only: its subfolders are not served.

        (Voila's ``preheat_denylist`` matches the path with the folder's own in front.)
        """
        top = Path(nb_path).parent.resolve() == Path(self.root_dir).resolve()
        return top and super()._notebook_filter(nb_path)

    def _hold(self, kernel_id: str) -> None:
        self._held[kernel_id] = time.monotonic()
        slot = _SLOT.get()
        if slot is not None and slot.kernel_id is None:
            slot.kernel_id = kernel_id
            self._holders[kernel_id] = slot.client

    async def start_kernel(self, *args, **kwargs):
        """Voila's plain path: a request starts a kernel (the pool's go below this class)."""
        kernel_id = await ensure_async(super().start_kernel(*args, **kwargs))
        if (kwargs.get("env") or {}).get("VOILA_PREHEAT") != "True":
            self._hold(kernel_id)
        return kernel_id

    async def shutdown_kernel(self, kernel_id: str, *args, **kwargs):
        self._held.pop(kernel_id, None)
        self._holders.pop(kernel_id, None)
        return await ensure_async(super().shutdown_kernel(kernel_id, *args, **kwargs))

    async def shutdown_all(self, now: bool = True) -> None:
        """Stop every kernel at once when the service stops.

        A page's kernel holds nothing worth a graceful end, and a preheated kernel waiting for
        its request would log a ``ZMQError`` traceback for the reply it can no longer send
        (eight of them at each Ctrl-C of ``make demo``). The service's process bounds the
        whole stop (:func:`aphos_lib.hub.dashboards.main`).
        """
        await ensure_async(super().shutdown_all(now=now))

    def notify_disconnect(self, kernel_id: str) -> None:
        super().notify_disconnect(kernel_id)
        if kernel_id in self._held:
            self._held[kernel_id] = time.monotonic()

    async def cull_kernel_if_idle(self, kernel_id: str):
        """Shut a visitor's kernel down once unconnected and quiet; else cull it when idle."""
        kernel = self._kernels.get(kernel_id)
        if kernel is None:
            # Shut down (a beacon, an earlier cull) while the culler awaited the kernels
            # before it in its list; jupyter_server would log a KeyError with its traceback.
            return None
        if not kernel.trait_has_value("last_activity"):
            # Still starting (jupyter_server sets it once the kernel is up): not idle, and
            # asking for it would raise the TraitError jupyter_server logs with its traceback.
            return None
        since = self._held.get(kernel_id)
        if (
            since is not None
            and not self._kernel_connections.get(kernel_id, 0)
            and getattr(kernel, "execution_state", None) != "busy"
        ):
            activity = getattr(kernel, "last_activity", None)
            quiet = time.monotonic() - since
            if activity is not None:  # jupyter_server's UTC datetime of the last message
                quiet = min(quiet, time.time() - activity.timestamp())
            if quiet > self.unconnected_timeout:
                self.log.warning("Culling unconnected kernel %s, quiet for %d s", kernel_id, quiet)
                await ensure_async(self.shutdown_kernel(kernel_id))
                return
        return await ensure_async(super().cull_kernel_if_idle(kernel_id))


class _PreheatedDashboardKernels(DashboardKernels):
    """:class:`DashboardKernels` over Voila's preheating manager."""

    async def get_rendered_notebook(self, *args, **kwargs):
        """Voila's preheated path: a request takes a kernel from the pool."""
        render_task, rendered_cache, kernel_id = await super().get_rendered_notebook(
            *args, **kwargs
        )
        self._hold(kernel_id)
        return render_task, rendered_cache, kernel_id


def _bounded(manager_class: type) -> type:
    """``manager_class`` with :class:`DashboardKernels` over it, under its own name."""
    preheating = hasattr(manager_class, "get_rendered_notebook")
    mixin = _PreheatedDashboardKernels if preheating else DashboardKernels
    return type(manager_class.__name__, (mixin, manager_class), {"__module__": __name__})


def install() -> None:
    """Make Voila build its kernel manager with :class:`DashboardKernels` (idempotent).

    Install :mod:`aphos_lib.hub.voila_pool` first: this wraps whatever factory Voila has.
    """
    import voila.app

    factory = voila.app.voila_kernel_manager_factory
    if getattr(factory, "_aphos_bounded", False):
        return

    def bounded_factory(*args, **kwargs):
        return _bounded(factory(*args, **kwargs))

    # Keep the marks of the factories below, so installing them again stays a no-op.
    bounded_factory.__dict__.update(factory.__dict__)
    bounded_factory._aphos_bounded = True  # type: ignore[attr-defined]
    voila.app.voila_kernel_manager_factory = bounded_factory
