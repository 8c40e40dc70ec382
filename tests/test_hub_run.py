"""What ``aphos demo`` does around the hub process (the hub itself runs in test_platform_demo)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from aphos_lib.hub.run import _remember_children, _stop_leftovers, isolation_notice


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_what_a_dead_hub_left_running_is_stopped():
    # A stand-in hub with two services; it dies without stopping them, as a crash would.
    hub = subprocess.Popen(["bash", "-c", "sleep 60 & sleep 60 & wait"])
    children: dict = {}
    deadline = time.monotonic() + 10
    while len(children) < 2 and time.monotonic() < deadline:
        _remember_children(hub.pid, children)
        time.sleep(0.05)
    assert len(children) == 2
    hub.kill()
    hub.wait()
    assert not any(gone(c) for c in children.values())
    _stop_leftovers(children)
    assert all(gone(c) for c in children.values())


def test_a_normal_user_is_told_that_workspaces_are_not_isolated():
    code = "from aphos_lib.hub.run import isolation_notice as n; print(n())"
    # As root, ask as an unprivileged account what it would be told (CI runs as root).
    as_user = (
        {"user": "nobody", "group": "nogroup", "extra_groups": []} if os.geteuid() == 0 else {}
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/", **as_user
    ).stdout
    assert "workspaces are NOT isolated from each other or from the services" in out, out
    if os.geteuid() == 0:
        assert "runs as 'nobody'" in out
        assert isolation_notice() is None  # root gives every part its own account
