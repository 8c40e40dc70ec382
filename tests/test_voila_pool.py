"""The dashboards service's preheated pool: a refill waits out its delay unless a request takes it.

The browser tests run the real service with its pools (tests/browser/conftest.py); here the
delay itself is checked, in Voila's own kernel manager class as the service builds it.
"""

from __future__ import annotations

import asyncio
import time

import voila.app
import voila.voila_kernel_manager as voila_kernel_manager
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

from aphos_lib.hub import voila_pool


def _pool_entry(delay: float) -> asyncio.Task:
    """A pool entry as Voila makes one: its delay, then the kernel's start (here instant)."""

    async def start_kernel() -> dict:
        return {"kernel_id": "k1", "started_at": time.monotonic()}

    return asyncio.get_running_loop().create_task(
        voila_kernel_manager.wait_before(delay, start_kernel())
    )


def test_an_entry_nobody_takes_waits_out_its_delay():
    voila_pool.install()

    async def scenario() -> tuple[bool, float]:
        started = time.monotonic()
        entry = _pool_entry(0.5)
        await asyncio.sleep(0.2)
        early = entry.done()
        return early, (await entry)["started_at"] - started

    early, started_after = asyncio.run(scenario())
    assert not early
    assert 0.5 <= started_after < 1.5


def test_a_request_ends_the_delay_of_the_entry_it_takes():
    voila_pool.install()
    voila_pool.install()  # twice: still one layer

    class Manager:
        def __init__(self, pools: dict) -> None:
            self._pools = pools

        async def get_rendered_notebook(self, notebook_name: str, **kwargs) -> dict:
            return await self._pools[notebook_name].pop(0)  # what Voila's does first

    async def scenario() -> float:
        entry = _pool_entry(60)
        await asyncio.sleep(0.1)  # the entry is in its delay
        asked = time.monotonic()
        manager = voila_pool._hurrying(Manager)({"object.ipynb": [entry]})
        content = await asyncio.wait_for(manager.get_rendered_notebook("object.ipynb"), 10)
        return content["started_at"] - asked

    assert asyncio.run(scenario()) < 1


def test_the_service_builds_voila_kernel_manager_with_the_hurry():
    voila_pool.install()
    factory = voila.app.voila_kernel_manager_factory
    preheating = factory(AsyncMappingKernelManager, True, 2)
    plain = factory(AsyncMappingKernelManager, False, 0)
    # One hurrying layer (the service also bounds the kernels over it: voila_limits).
    hurrying = [
        c
        for c in preheating.__mro__
        if "get_rendered_notebook" in vars(c)
        and vars(c)["get_rendered_notebook"].__qualname__.startswith("_hurrying.")
    ]
    assert len(hurrying) == 1
    assert not hasattr(plain, "get_rendered_notebook")
    assert voila_kernel_manager.wait_before is voila_pool._wait_before
