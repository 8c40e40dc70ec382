"""Voila's preheated kernel pool, refilled late unless someone is waiting.

Voila (0.5) refills a page's pool ``fill_delay`` seconds after a request takes a kernel from
it, and the pool's new entry is that delay followed by the kernel's start. A refill started at
once competes for the CPU with the page just opened; a delayed one makes a request that arrives
meanwhile wait out the rest of the delay before its kernel even starts. Here the delay is cut
short as soon as a request takes the entry that is still waiting: the refill stays out of the
way of the page being opened, and a quick second visitor never waits for a timer.

:func:`install` patches Voila's module (``wait_before``) and its kernel manager factory (the
class's ``get_rendered_notebook``) before Voila starts; the dashboards service calls it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

__all__ = ["install"]

# The pool entries still in their delay: their task, and the event that ends the delay.
_DELAYED: dict[asyncio.Task, asyncio.Event] = {}


async def _wait_before(delay: float, aw: Awaitable) -> Any:
    """Voila's ``wait_before``, which a request taking this entry can cut short."""
    task = asyncio.current_task()
    hurry = asyncio.Event()
    if task is not None:
        _DELAYED[task] = hurry
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hurry.wait(), delay)
    finally:
        if task is not None:
            _DELAYED.pop(task, None)
    return await aw


def _hurrying(manager_class: type) -> type:
    """The kernel manager class, ending the delay of the pool entry a request is about to take."""

    class HurryingKernelManager(manager_class):
        async def get_rendered_notebook(self, notebook_name: str, *args, **kwargs):
            pool = self._pools.get(notebook_name) or []
            if pool and pool[0] in _DELAYED:
                _DELAYED[pool[0]].set()
            return await super().get_rendered_notebook(notebook_name, *args, **kwargs)

    HurryingKernelManager.__name__ = HurryingKernelManager.__qualname__ = manager_class.__name__
    return HurryingKernelManager


def install() -> None:
    """Patch Voila so that a refill's delay ends when a request takes it (idempotent)."""
    import voila.app
    import voila.voila_kernel_manager as kernel_manager

    kernel_manager.wait_before = _wait_before
    factory = voila.app.voila_kernel_manager_factory
    if getattr(factory, "_aphos_hurrying", False):
        return

    def hurrying_factory(base_class, preheat_kernel, *args, **kwargs):
        manager_class = factory(base_class, preheat_kernel, *args, **kwargs)
        return _hurrying(manager_class) if preheat_kernel else manager_class

    hurrying_factory._aphos_hurrying = True  # type: ignore[attr-defined]
    voila.app.voila_kernel_manager_factory = hurrying_factory
