"""Ctrl-C in the middle of the tests (``make test``) leaves no process and no temporary folder.

A second pytest runs the home page's browser tests (an embedded PostgreSQL, a clone of its
catalogue loaded with the demo data, the dashboards service with its preheated kernels,
Chromium) with its own empty ``TMPDIR``; once Chromium draws a page, the whole process group
gets SIGINT, as a terminal's Ctrl-C sends it. Everything the run started must be gone, the
detached database server included, and its ``TMPDIR`` empty.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from hub_harness import group_alive

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.serial]

ROOT = Path(__file__).resolve().parents[1]
STOPPED_WITHIN_S = 60


def started_by(tmpdir: Path) -> list[psutil.Process]:
    """Processes that belong to the run: their command line or environment names ``tmpdir``
    (the database server is detached by pg_ctl but runs on a home under it)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(
                str(tmpdir) in part for part in process.info["cmdline"] or []
            ) or process.environ().get("TMPDIR") == str(tmpdir):
                found.append(process)
        except psutil.Error:
            continue
    return found


def chromium_started(tmpdir: Path) -> bool:
    return any("chrom" in (p.info["cmdline"] or [""])[0] for p in started_by(tmpdir))


def test_ctrl_c_during_the_tests_leaves_nothing_behind():
    tmpdir = Path(tempfile.mkdtemp(prefix="aphos-interrupted-"))
    tmpdir.chmod(0o755)  # the database's own account enters the homes made under it
    env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONUNBUFFERED": "1"}
    log = tmpdir.with_suffix(".log")
    with log.open("wb") as out:
        run = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                "tests/browser/test_home.py",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while not chromium_started(tmpdir):
            assert run.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        during = started_by(tmpdir)
        assert any("postgres" in " ".join(p.cmdline()) for p in during if p.is_running())
        time.sleep(3)  # in the middle of a test
        interrupted = time.monotonic()
        os.killpg(run.pid, signal.SIGINT)
        run.wait(STOPPED_WITHIN_S)
        stopped_in = time.monotonic() - interrupted
        # The session's teardown asks the embedded PostgreSQL to stop; on a loaded machine its
        # postmaster may take a few seconds more to exit after pytest has.
        settle = time.monotonic() + 15
        while True:
            left = [" ".join(p.cmdline())[:200] for p in started_by(tmpdir) if p.is_running()]
            if not left or time.monotonic() > settle:
                break
            time.sleep(0.5)
        files = sorted(str(p.relative_to(tmpdir)) for p in tmpdir.iterdir())
        output = log.read_text(errors="replace")
        # Ctrl-C reaches the whole group, as in a terminal: pytest reports KeyboardInterrupt,
        # or, when the browser and Playwright's driver went first while a test waited on them,
        # that the browser closed; either way the run ended early and must leave nothing.
        interrupted_run = "KeyboardInterrupt" in output or (
            "Target page, context or browser has been closed" in output
        )
        assert interrupted_run, output[-3000:]
        assert not group_alive(run.pid) and left == [], left
        assert files == [], f"left in TMPDIR: {files}"
        print(f"\nCtrl-C: the tests stopped in {stopped_in:.1f} s and left nothing")
    finally:
        if run.poll() is None or group_alive(run.pid):
            os.killpg(run.pid, signal.SIGKILL)
        for process in started_by(tmpdir):
            process.kill()
        shutil.rmtree(tmpdir, ignore_errors=True)
        log.unlink(missing_ok=True)
