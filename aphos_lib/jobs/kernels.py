"""Warm kernels for job notebooks: started and primed before a job arrives.

Starting a kernel and importing the catalogue code in it costs seconds, most of an upload's
latency for one file. A worker therefore starts its next kernel while it is idle, imports
what the job notebook needs there, and hands that kernel to papermill when a job comes.
A kernel may then run several jobs in a row (``APHOS_JOB_KERNEL_JOBS``), reset between
them (:func:`reset_kernel`: the namespace cleared, cells numbered from 1 again); it is
replaced after a job that failed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from jupyter_client import BlockingKernelClient, KernelManager

__all__ = ["PRIME", "RESET", "JobKernelManager", "reset_kernel", "start_warm_kernel", "stop_kernel"]

# What the job notebook imports; imported here before the job, it is then already loaded.
PRIME = "import aphos_lib.jobs.upload, aphos_lib.ingest, pandas"
# Between two jobs in one kernel: nothing of the last job's namespace stays, and the next
# report numbers its cells from 1, as a fresh kernel would.
RESET = "get_ipython().run_line_magic('reset', '-f')\nget_ipython().execution_count = 1"


class JobKernelManager(KernelManager):
    """A kernel manager that remembers the clients it made, to close them with the kernel.

    papermill's executor does not close the client of a kernel it was given (it does not own
    it), and each open client keeps a heartbeat thread and its sockets: a long-running worker
    would leak them job after job.
    """

    def client(self, **kwargs):
        """A client of this kernel, closed by :meth:`close_clients`."""
        made = super().client(**kwargs)
        self._clients = [*getattr(self, "_clients", []), made]
        return made

    def close_clients(self) -> None:
        """Close the channels of every client made so far."""
        for made in getattr(self, "_clients", []):
            made.stop_channels()
        self._clients = []


def start_warm_kernel(cwd: Path, *, timeout: float = 120.0) -> JobKernelManager:
    """Start a ``python3`` kernel of this interpreter in ``cwd`` and run :data:`PRIME` in it.

    The kernel's client class is asynchronous, as papermill's executor expects of a kernel
    manager it is given.
    """
    # Unix sockets, not TCP ports: workers starting kernels at once would race for free ports
    # (and local TCP is unencrypted).
    km = JobKernelManager(
        kernel_name="python3",
        transport="ipc",
        ip=os.path.join(tempfile.gettempdir(), f"aphos-kernel-{uuid.uuid4().hex}"),
        client_class="jupyter_client.asynchronous.AsyncKernelClient",
    )
    # The kernel dies with this process (ipykernel watches JPY_PARENT_PID, which the
    # launcher sets), so a killed worker leaves no kernel behind writing for it.
    km.start_kernel(cwd=str(cwd), extra_arguments=["--HistoryManager.enabled=False"])
    try:
        _run(km, PRIME, timeout)
    except BaseException:
        stop_kernel(km)
        raise
    return km


def reset_kernel(km: JobKernelManager, *, timeout: float = 30.0) -> bool:
    """Make a kernel that ran a job like a fresh one for the next: False if it cannot be.

    Clears the notebook's namespace and numbers cells from 1 again; the imported modules
    stay loaded, which is what a warm kernel is for.
    """
    try:
        km.close_clients()
        _run_quietly(km, RESET, timeout)
    except Exception as exc:  # a broken kernel is replaced, not reused
        print(f"resetting a kernel: {exc}", file=sys.stderr)
        return False
    return True


def _run_quietly(km: KernelManager, code: str, timeout: float) -> None:
    """Run code in a kernel known to be ready, waiting only for its reply on the shell channel.

    Much quicker than :func:`_run` (which waits for the kernel's output to go quiet, a few
    tenths of a second) when the kernel has already answered before.
    """
    kc = BlockingKernelClient(parent=km, **km.get_connection_info(session=True))
    kc.start_channels(iopub=False, stdin=False, hb=False, control=False)
    try:
        msg_id = kc.execute(code, silent=True, store_history=False)
        deadline = time.monotonic() + timeout
        while True:
            reply = kc.get_shell_msg(timeout=max(0.0, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{code!r} failed in the kernel: {reply['content'].get('evalue')}")
    finally:
        kc.stop_channels()


def _run(km: KernelManager, code: str, timeout: float) -> None:
    """Run code in the kernel, raising if it fails."""
    # With the manager as parent the client asks it whether the kernel process lives;
    # alone it would judge by heartbeats, which a busy machine delays past a second.
    kc = BlockingKernelClient(parent=km, **km.get_connection_info(session=True))
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        reply = kc.execute_interactive(
            code, timeout=timeout, store_history=False, output_hook=lambda msg: None
        )
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{code!r} failed in the kernel: {reply['content'].get('evalue')}")
    finally:
        kc.stop_channels()


def stop_kernel(km: KernelManager) -> None:
    """Stop a kernel at once (its job is over, or the worker is stopping), and its clients."""
    try:
        if isinstance(km, JobKernelManager):
            km.close_clients()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    except Exception as exc:  # already gone: nothing left to stop
        print(f"stopping a kernel: {exc}", file=sys.stderr)
    finally:
        km.cleanup_resources()
