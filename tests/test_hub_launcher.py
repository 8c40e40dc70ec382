"""The launcher that switches accounts for a hub run as ``aphos-hub`` (no hub runs here).

A launcher serves in this (root) process; runner clients run as ``aphos-hub`` (or as another
account, to be refused), as the hub would run them.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from aphos_lib import accounts
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.hub.as_account import REFUSED, runner_command
from aphos_lib.hub.launcher import Launcher, socket_path
from aphos_lib.hub.ownership import prepare_home, prepare_hub_state
from aphos_lib.hub.run import hub_environment
from aphos_lib.hub.settings import HubSettings

from conftest import make_home

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="switching accounts needs root (CI runs as root)"
)

HUB_USER = "launcher-test"


@pytest.fixture(scope="module")
def launcher():
    home = make_home("aphos-launcher-")
    settings = HubSettings.from_environment({"APHOS_HOME": str(home)})
    prepare_home(settings)
    hub = prepare_hub_state(settings)
    catalogue = Catalogue.external(
        "postgresql://aphos_owner:owner-secret@127.0.0.1:1/aphos",
        reader_url="postgresql://aphos_reader:r@127.0.0.1:1/aphos",
    )
    launcher = Launcher(settings, catalogue, hub)
    launcher.start()
    try:
        yield launcher
    finally:
        launcher.stop()
        shutil.rmtree(home, ignore_errors=True)


def client(
    launcher,
    args: list[str],
    account: str = accounts.HUB_ACCOUNT,
    env: dict | None = None,
    **kwargs,
) -> subprocess.Popen:
    """The runner client with ``args``, run as ``account`` (the hub's by default)."""
    entry = pwd.getpwnam(account)
    environ = {**os.environ, accounts.LAUNCHER_ENV: str(launcher.path), **(env or {})}
    return subprocess.Popen(
        [*runner_command("workspace")[:3], *args],
        env=environ,
        cwd="/",
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=[],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def workspace(launcher, command: list[str], hub_user: str = HUB_USER) -> subprocess.Popen:
    return client(launcher, ["workspace", "--", *command], env={"JUPYTERHUB_USER": hub_user})


def test_the_socket_is_the_hubs_alone(launcher):
    path = launcher.path
    assert path == socket_path(launcher.settings)
    hub = pwd.getpwnam(accounts.HUB_ACCOUNT)
    folder = path.parent.stat()
    assert (folder.st_uid, folder.st_gid, folder.st_mode & 0o777) == (0, hub.pw_gid, 0o750)
    assert (
        launcher.settings.hub_dir.stat().st_uid,
        launcher.settings.hub_dir.stat().st_mode & 0o777,
    ) == (hub.pw_uid, 0o700)


def test_another_account_cannot_reach_it_and_root_is_not_served(launcher):
    other = client(launcher, ["service", "api"], account=accounts.SERVICE_ACCOUNTS["api"])
    out, err = other.communicate(timeout=30)
    assert other.returncode == REFUSED and "cannot reach the launcher" in err, err
    # Root reaches it, but is not the hub's account: answered with a refusal, nothing run.
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(launcher.path))
        answer = json.loads(sock.makefile().readline())  # before any request is read
    assert "error" in answer and accounts.HUB_ACCOUNT in answer["error"], answer
    assert launcher.children() == []


@pytest.mark.parametrize(
    "args, env, reason",
    [
        (["service", "root"], {}, "no such service: 'root'"),
        (["service", "postgres"], {}, "no such service"),
        (["service", "../api"], {}, "no such service"),
        (["workspace", "--", "id"], {"JUPYTERHUB_USER": ".."}, "not a hub user name"),
        (["workspace", "--", "id"], {"JUPYTERHUB_USER": "../secrets"}, "not a hub user name"),
        (["workspace", "--", "id"], {"JUPYTERHUB_USER": ""}, "not a hub user name"),
    ],
)
def test_requests_outside_the_platform_are_refused(launcher, args, env, reason):
    refused = client(launcher, args, env=env)
    _, err = refused.communicate(timeout=60)
    assert refused.returncode == REFUSED and reason in err, err
    assert launcher.children() == []


def test_an_account_made_for_something_else_is_refused(launcher):
    squatter = "aphos-launcher-squat"
    accounts.ensure_account(squatter, comment="something else")
    refused = workspace(launcher, ["id"], hub_user="launcher-squat")
    _, err = refused.communicate(timeout=60)
    assert refused.returncode == REFUSED and "was not made for this" in err, err


def test_a_workspace_runs_as_its_account_and_its_exit_code_comes_back(launcher):
    run = workspace(launcher, ["sh", "-c", "id -un; pwd; echo $HOME; exit 7"])
    out, err = run.communicate(timeout=120)
    home = str(launcher.settings.users_dir / HUB_USER)
    assert run.returncode == 7, err
    assert out.split() == [accounts.workspace_account(HUB_USER), home, home]


@pytest.mark.serial
def test_signals_are_passed_on_and_a_killed_client_ends_its_process(launcher):
    run = workspace(
        launcher,
        ["sh", "-c", "trap 'echo TERM; exit 3' TERM; echo up; while :; do sleep 0.1; done"],
    )
    assert run.stdout.readline() == "up\n"
    run.send_signal(signal.SIGTERM)
    assert run.wait(30) == 3 and run.stdout.readline() == "TERM\n"

    run = workspace(launcher, ["sh", "-c", "trap '' TERM INT HUP; echo up; sleep 300 & wait"])
    assert run.stdout.readline() == "up\n"
    (pid,) = launcher.children()
    process = psutil.Process(pid)
    assert process.uids().real == pwd.getpwnam(accounts.workspace_account(HUB_USER)).pw_uid
    group = [process, *process.children()]
    started = time.monotonic()
    run.kill()
    run.wait()
    _, alive = psutil.wait_procs(group, timeout=15)
    took = time.monotonic() - started
    assert not alive, alive
    # The launcher's thread forgets the process once it has reaped it: soon after, not at once.
    deadline = time.monotonic() + 10
    while launcher.children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert launcher.children() == []
    print(f"a killed client's process (ignoring SIGTERM) ended after {took:.1f} s")
    assert took < 10


def test_the_hub_is_given_the_readers_login_only(launcher):
    environ = {
        "APHOS_DATABASE_URL": "postgresql://aphos_owner:owner-secret@h/a",
        "APHOS_DATABASE_URL_WRITER": "postgresql://w:writer-secret@h/a",
        "PATH": "/bin",
        "APHOS_TEST_DATABASE_URL": "postgresql://postgres:su-secret@h/a",
        "PGPASSWORD": "pg-secret",
    }
    env = hub_environment(launcher.settings, launcher.catalogue, Path("/x/hub.sock"), environ)
    reader = launcher.catalogue.conninfo("reader")
    assert {env[k] for k in env if k.startswith("APHOS_DATABASE_URL")} == {reader}
    assert not any("secret" in value for value in env.values()), env
    assert env[accounts.LAUNCHER_ENV] == "/x/hub.sock" and env["USER"] == accounts.HUB_ACCOUNT
    assert env["PATH"] == "/bin"


def test_a_link_planted_in_the_hubs_state_leads_root_nowhere(launcher, tmp_path):
    outside = tmp_path / "roots.txt"
    outside.write_text("root's\n")
    (launcher.settings.hub_dir / "planted").symlink_to(outside)
    prepare_hub_state(launcher.settings)
    assert outside.stat().st_uid == 0
    assert (launcher.settings.hub_dir / "planted").lstat().st_uid == launcher.hub.pw_uid
