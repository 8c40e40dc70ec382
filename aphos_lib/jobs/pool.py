"""N worker processes kept running: started together, restarted when one dies, stopped fast.

The ``worker`` service (:mod:`aphos_lib.hub.worker`) owns one pool. Each process runs
``python -m aphos_lib.jobs.runner`` with the service's environment; a process that exits
while the pool is running (a crash, the kernel's OOM killer) is started again, after a short
pause that grows while it keeps dying at once. Stopping sends SIGTERM to all (each gives its
job in progress back) and SIGKILL to any still running after the grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from aphos_lib.settings import Settings

__all__ = ["WorkerPool", "workers_from_environment"]


def workers_from_environment() -> int:
    """How many worker processes to run: ``APHOS_WORKERS``, default 1 (one machine)."""
    return Settings.from_environment().workers


@dataclass
class _Slot:
    process: subprocess.Popen | None = None
    started: float = 0.0
    restarts: int = 0
    backoff: float = 0.0
    not_before: float | None = None  # when to start it again, once it has died


@dataclass
class WorkerPool:
    """Worker processes supervised by a thread.

    Parameters
    ----------
    size : int
        How many processes.
    command : list of str
        What each runs; by default ``python -m aphos_lib.jobs.runner``.
    check_interval : float
        Seconds between looks at the processes.
    grace : float
        Seconds a stopping process gets before it is killed.
    """

    size: int = field(default_factory=workers_from_environment)
    command: list[str] = field(
        default_factory=lambda: [sys.executable, "-m", "aphos_lib.jobs.runner"]
    )
    check_interval: float = 0.5
    grace: float = 10.0

    def __post_init__(self) -> None:
        self._slots = [_Slot() for _ in range(self.size)]
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the processes and the thread that restarts them."""
        with self._lock:
            for slot in self._slots:
                self._spawn(slot)
        self._thread = threading.Thread(target=self._supervise, name="worker-pool", daemon=True)
        self._thread.start()

    def _spawn(self, slot: _Slot) -> None:
        # The worker stops by itself if this process dies without stopping it (SIGKILL).
        env = dict(os.environ, APHOS_WORKER_PARENT_PID=str(os.getpid()))
        slot.process = subprocess.Popen(self.command, env=env)
        slot.started = time.monotonic()

    def _supervise(self) -> None:
        while not self._stopping.wait(self.check_interval):
            with self._lock:
                if self._stopping.is_set():
                    return
                now = time.monotonic()
                for slot in self._slots:
                    if slot.process is None or slot.process.poll() is None:
                        continue
                    if slot.not_before is None:
                        # Dying within a minute of its start: wait longer each time, up to
                        # 30 s, so a worker that cannot start (no database) does not spin.
                        quick = now - slot.started < 60
                        slot.backoff = min(30.0, max(0.5, slot.backoff * 2)) if quick else 0.0
                        slot.not_before = now + slot.backoff
                        print(
                            f"worker pool: process {slot.process.pid} exited with"
                            f" {slot.process.returncode}; starting another in"
                            f" {slot.backoff:.1f} s",
                            flush=True,
                        )
                    if now >= slot.not_before:
                        slot.not_before = None
                        slot.restarts += 1
                        self._spawn(slot)

    def stop(self) -> None:
        """Stop every process: SIGTERM, then SIGKILL after :attr:`grace` seconds."""
        self._stopping.set()
        with self._lock:
            running = [s.process for s in self._slots if s.process and s.process.poll() is None]
            for p in running:
                p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.grace
            for p in running:
                try:
                    p.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def pids(self) -> list[int]:
        """The processes' ids, those running now."""
        with self._lock:
            return [s.process.pid for s in self._slots if s.process and s.process.poll() is None]

    @property
    def restarts(self) -> int:
        """How many times a process was started again after it died."""
        return sum(s.restarts for s in self._slots)
