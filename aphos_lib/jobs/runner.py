"""A worker process: claims ingest jobs and runs the job notebook for each with papermill.

The loop
--------
1. Wait for work: ``LISTEN`` on :data:`aphos_lib.jobs.queue.CHANNEL` (``enqueue`` notifies
   it when the api commits), with a short poll as a fallback that also finds jobs whose
   worker died. A job gets the last job's kernel, reset (``APHOS_JOB_KERNEL_JOBS`` jobs per
   kernel), or one started and primed in the background while idle or during the job before
   (:mod:`aphos_lib.jobs.kernels`), so a job rarely waits for a kernel to start.
2. Claim a job (:func:`aphos_lib.jobs.queue.claim`), read its files from ``upload_input``.
3. Run the job notebook (:data:`NOTEBOOK`, ``aphos_lib/jobs/ingest_sips.ipynb``) with
   papermill in a thread, writing the executed notebook to
   ``$APHOS_HOME/reports/<upload id>/job-<id>-attempt-<n>.ipynb``; the notebook records
   progress after each file, and this thread heartbeats while it runs.
4. Finish the job ``done``, or on an error give it back for a retry (``failed`` at its last
   attempt) with the error's one-line message. A job taken over by another worker is left
   alone; its kernel is stopped.

``SIGTERM``/``SIGINT`` stop the worker: the kernel of a job in progress is killed (its file in
progress rolls back, files done stay done) and the job is given back.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import papermill
import psycopg
from papermill.exceptions import PapermillExecutionError

from aphos_lib import queries
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.jobs import queue
from aphos_lib.jobs.kernels import JobKernelManager, reset_kernel, start_warm_kernel, stop_kernel
from aphos_lib.jobs.queue import Job
from aphos_lib.settings import JobSettings, aphos_home

__all__ = ["NOTEBOOK", "Worker", "main", "report_path"]

# The job notebook ships inside the package, so an installed worker finds it outside a checkout.
NOTEBOOK = Path(resources.files("aphos_lib.jobs") / "ingest_sips.ipynb")


def report_path(job: Job) -> str:
    """Where a job attempt's executed notebook goes, relative to ``$APHOS_HOME``."""
    return f"reports/{job.upload_id}/job-{job.id}-attempt-{job.attempt}.ipynb"


@dataclass
class _Run:
    """One job's notebook run: its kernel, and how it ended once it has."""

    km: JobKernelManager | None = None
    kernel_ready: float | None = None
    kernel_jobs: int = 0  # jobs the kernel ran before this one
    stopped: bool = False  # the worker gave the job up: do not start the notebook
    error: BaseException | None = None


class Worker:
    """One worker: a loop that claims jobs and runs them one at a time.

    Parameters
    ----------
    catalogue : Catalogue
        The catalogue; the worker connects as the writer role.
    name : str, optional
        Unique among running workers; by default ``host:pid``.
    settings : aphos_lib.settings.JobSettings, optional
        By default from the environment.
    notebook : Path
        The job notebook.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        name: str | None = None,
        settings: JobSettings | None = None,
        notebook: Path = NOTEBOOK,
    ) -> None:
        self.catalogue = catalogue
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.settings = settings or JobSettings.from_environment()
        self.notebook = notebook
        self.stop = threading.Event()
        self.cwd = Path.cwd()
        # The next job's kernel, starting in the background (during the current job, or
        # while idle) so that a job rarely waits for one.
        self._warming = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm-kernel")
        # Notebooks run on one long-lived thread: the event loop papermill makes for a thread
        # is never closed, so a thread per job would leak one loop (and its sockets) per job.
        self._notebooks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notebook")
        # (kernel, jobs it has run): a new one warming, or the last job's being reset.
        self._next_kernel: Future[tuple[JobKernelManager, int]] | None = None
        self.last: dict[str, float] = {}  # timings of the last job, for measurements

    def run(self) -> None:
        """Claim and run jobs until :attr:`stop` is set."""
        try:
            while not self.stop.is_set():
                try:
                    self._serve()
                except psycopg.OperationalError as exc:
                    # The database went away (restart, network): try again shortly.
                    print(f"worker {self.name}: {exc}; reconnecting", flush=True)
                    self.stop.wait(1.0)
        finally:
            km, _ = self._take_kernel()
            if km is not None:
                stop_kernel(km)
            self._warming.shutdown()
            self._notebooks.shutdown()

    def _serve(self) -> None:
        with (
            self.catalogue.connect("writer") as conn,
            self.catalogue.connect("writer", autocommit=True) as listener,
        ):
            listener.execute(f"LISTEN {queue.CHANNEL}")
            while not self.stop.is_set():
                job = queue.claim(
                    conn, self.name, heartbeat_timeout=self.settings.heartbeat_timeout
                )
                if job is not None:
                    ended = self.execute(conn, job)
                    print(
                        f"worker {self.name}: job {job.id} attempt {job.attempt}: {ended}"
                        f" ({self.last['claim_to_end_s']:.2f} s, kernel ready after"
                        f" {self.last['kernel_s']:.2f} s)",
                        flush=True,
                    )
                    continue
                self._prepare_kernel()
                # Wake on the first notification, or after the poll interval to look for
                # abandoned jobs; any notification means "look again", whatever its job.
                for _ in listener.notifies(timeout=self.settings.poll_interval, stop_after=1):
                    pass

    def _prepare_kernel(self) -> None:
        """Start warming the next kernel, unless one is warming or ready already."""
        if self.settings.warm_kernel and self._next_kernel is None:
            self._next_kernel = self._warming.submit(lambda: (start_warm_kernel(self.cwd), 0))

    def _take_kernel(self) -> tuple[JobKernelManager | None, int]:
        """The next job's kernel and the jobs it has run (waiting for it to be ready)."""
        future, self._next_kernel = self._next_kernel, None
        if future is None:
            return None, 0
        try:
            km, jobs = future.result()
        except Exception as exc:  # the job starts a kernel of its own instead
            print(f"worker {self.name}: preparing a kernel failed: {exc}", flush=True)
            return None, 0
        if not km.is_alive():  # it died while it waited (the OOM killer): start another
            stop_kernel(km)
            return None, 0
        return km, jobs

    def _keep_or_stop(self, run: _Run, ok: bool) -> None:
        """Keep the kernel of a job that went well for the next job, if it has jobs left.

        It is reset in the background, so neither this job's end nor the next job waits.
        """
        if run.km is None:
            return
        jobs = run.kernel_jobs + 1
        if ok and jobs < self.settings.kernel_jobs and self._next_kernel is None:
            km = run.km

            def reset() -> tuple[JobKernelManager, int]:
                if km.is_alive() and reset_kernel(km):
                    return km, jobs
                stop_kernel(km)
                return start_warm_kernel(self.cwd), 0

            self._next_kernel = self._warming.submit(reset)
        else:
            stop_kernel(run.km)

    def execute(self, conn: psycopg.Connection, job: Job) -> str:
        """Run one claimed job's notebook and settle the job.

        Returns
        -------
        str
            How the job was left: ``done``, ``queued`` (to retry), ``failed``, or ``lost``
            (taken over by another worker, or this worker stopped before it could tell).
        """
        claimed = time.monotonic()
        with conn.transaction():
            files = [
                {"position": p, "filename": f, "stored_name": s}
                for p, f, s in queries.uploads.inputs(job.upload_id).rows(conn)
            ]
        relative = report_path(job)
        output = aphos_home() / relative
        output.parent.mkdir(parents=True, exist_ok=True)
        run = _Run()
        parameters = {
            "upload_id": job.upload_id,
            "job_id": job.id,
            "observer_id": job.observer_id,
            "worker": job.worker,
            "attempt": job.attempt,
            "files": files,
        }

        def execute_notebook() -> None:
            try:
                # The last job's kernel (reset) or a warm one, else one started now.
                run.km, run.kernel_jobs = self._take_kernel()
                if run.km is None:
                    run.km = start_warm_kernel(self.cwd)
                run.kernel_ready = time.monotonic()
                if run.kernel_jobs + 1 >= self.settings.kernel_jobs:
                    self._prepare_kernel()  # this kernel's last job: warm its successor
                if not run.stopped:
                    papermill.execute_notebook(
                        str(self.notebook),
                        str(output),
                        parameters=parameters,
                        kernel_name="python3",
                        km=run.km,
                        progress_bar=False,
                        execution_timeout=self.settings.execution_timeout,
                    )
            except BaseException as exc:  # reported to the job below
                run.error = exc

        running = self._notebooks.submit(execute_notebook)
        lost = False
        # Heartbeat from the kernel's start to the notebook's end; stop the kernel when the
        # job is no longer ours or the worker is told to stop. Short joins keep a stop prompt.
        with self.catalogue.connect("writer") as beat:
            next_beat = time.monotonic() + self.settings.heartbeat_interval
            while not running.done():
                if wait([running], timeout=0.2).done:
                    break
                if not self.stop.is_set() and time.monotonic() < next_beat:
                    continue
                next_beat = time.monotonic() + self.settings.heartbeat_interval
                if self.stop.is_set() or not queue.heartbeat(beat, job):
                    lost = not self.stop.is_set()
                    run.stopped = True
                    if run.km is not None:
                        stop_kernel(run.km)
                    wait([running])
        self._keep_or_stop(run, ok=not lost and not run.stopped and run.error is None)
        self.last = {
            "kernel_s": (run.kernel_ready or claimed) - claimed,
            "claim_to_end_s": time.monotonic() - claimed,
        }
        if lost:
            return "lost"
        if run.stopped:
            # Stopped (a restart, a shutdown): the files done stay done, the rest is retried.
            return queue.retry(
                conn, job, "the worker was stopped before the job ended", report_path=relative
            )
        if run.error is None:
            return "done" if queue.finish(conn, job, "done", report_path=relative) else "lost"
        if getattr(run.error, "ename", None) == "JobLost":
            return "lost"  # the notebook saw the takeover first; the job is another's now
        message = error_message(run.error)
        print(f"worker {self.name}: job {job.id} attempt {job.attempt}: {message}", flush=True)
        if not isinstance(run.error, PapermillExecutionError):
            # Not the notebook's own error (the kernel died, a timeout): the log keeps where.
            traceback.print_exception(run.error)
        return queue.retry(conn, job, message, report_path=relative)


def error_message(exc: BaseException) -> str:
    """One line for the observer: what went wrong, never a traceback."""
    name = getattr(exc, "ename", None) or type(exc).__name__
    value = getattr(exc, "evalue", None)
    if value is None:
        value = str(exc)
    line = next((s.strip() for s in str(value).splitlines() if s.strip()), "")
    text = f"{name}: {line}" if line else name
    return text if len(text) <= 500 else text[:499] + "…"


def _stop_with_parent(parent: int, stop: threading.Event) -> None:
    """Stop when the service that started this worker is gone (it was killed, not stopped)."""
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()


def main() -> None:
    """Run one worker until SIGTERM or SIGINT (``python -m aphos_lib.jobs.runner``)."""
    worker = Worker(Catalogue.from_environment(start=False))

    def stop(signum, frame) -> None:
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parent = os.environ.get("APHOS_WORKER_PARENT_PID")
    if parent:
        threading.Thread(
            target=_stop_with_parent, args=(int(parent), worker.stop), daemon=True
        ).start()
    print(f"worker {worker.name} ready", flush=True)
    worker.run()


if __name__ == "__main__":
    main()
