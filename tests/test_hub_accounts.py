"""Run as root, an observer's workspace is an unprivileged account that can take nothing.

The platform as ``make demo`` runs it on a fresh server, as root: the hub as its own account
``aphos-hub`` (its launcher root), on the embedded catalogue (no APHOS_DATABASE_URL), signed
in through the stand-in Google. From the kernel of
a signed-in observer we try what an attacker would: secrets, the hub's cookie secret and
database, another observer's home, the services' environments, and every database login but
the reader's. Uploads through the api and the worker's ingest job must still work.
"""

from __future__ import annotations

import ast
import os
import pwd
import shutil
import stat
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from aphos_lib.accounts import HUB_ACCOUNT, SERVICE_ACCOUNTS, workspace_account
from aphos_lib.db.bootstrap import embedded_catalogue
from aphos_lib.db.embedded import EmbeddedPostgres
from aphos_lib.demo.load import load_demo
from aphos_lib.hub.launcher import socket_path
from aphos_lib.hub.settings import HubSettings

from conftest import FIXTURES, TEST_SETTINGS, make_home
from hub_harness import (
    GoogleStandIn,
    RunningHub,
    execute,
    free_port_block,
    sign_in_with_token,
)

pytestmark = [
    pytest.mark.hub,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0,
        reason="system accounts per workspace need root "
        "(CI runs as root); as a normal user nothing is isolated, by design",
    ),
]

ACCOUNTS = {
    "alice": {"id": "3001", "email": "alice@example.org", "verified_email": True},
    "bob": {"id": "3002", "email": "bob@example.org", "verified_email": True},
}
ALICE, BOB = "google-3001", "google-3002"


@pytest.fixture(scope="module")
def platform() -> Iterator[dict]:
    home = make_home("aphos-hub-accounts-")
    standin = GoogleStandIn(ACCOUNTS)
    hub = None
    try:
        catalogue = embedded_catalogue(home, settings=TEST_SETTINGS)
        assert load_demo(catalogue, images=4, directory=home / "demo") == 0
        catalogue.dispose()
        env = {
            **standin.environment(),
            "APHOS_HOME": str(home),
            "APHOS_PORT": str(free_port_block()),
            # The embedded catalogue, as on a fresh server: nothing external.
            "APHOS_DATABASE_URL": "",
            "APHOS_DATABASE_URL_WRITER": "",
            "APHOS_DATABASE_URL_READER": "",
            "APHOS_GOOGLE_ALLOWED_EMAILS": "alice@example.org,bob@example.org",
        }
        hub = RunningHub(env, home / "hub.log")
        hub.wait_ready()
        yield {"url": hub.url, "hub": hub, "home": home}
    finally:
        if hub is not None:
            hub.interrupt()
        standin.close()
        EmbeddedPostgres(home).stop()
        shutil.rmtree(home, ignore_errors=True)


def signed_in(platform, account: str, username: str) -> str:
    """Sign in (choosing a username the first time); a hub token of the observer."""
    client, token = sign_in_with_token(
        platform["url"], account, ACCOUNTS[account]["id"], username, "accounts"
    )
    return token


def spawn(platform, name: str, token: str) -> None:
    url, headers = platform["url"], {"Authorization": f"token {token}"}
    r = httpx.post(f"{url}/hub/api/users/{name}/server", headers=headers, timeout=60)
    assert r.status_code in (201, 202), r.text
    deadline = time.monotonic() + 180
    while (
        not httpx.get(f"{url}/hub/api/users/{name}", headers=headers)
        .json()["servers"]
        .get("", {})
        .get("ready")
    ):
        assert time.monotonic() < deadline, platform["hub"].tail()
        time.sleep(1)


def stop(platform, name: str, token: str) -> None:
    httpx.delete(
        f"{platform['url']}/hub/api/users/{name}/server",
        headers={"Authorization": f"token {token}"},
        timeout=60,
    )


MARKS = {
    "hub": "bin/jupyterhub -f",
    "proxy": "configurable-http-proxy",
    "api": "-m aphos_lib.web.api",
    "worker": "-m aphos_lib.hub.worker",
    "dashboards": "-m aphos_lib.hub.dashboards",
    "worker-client": "aphos_lib.hub.as_account service worker",
}


def platform_processes(hub: RunningHub) -> dict[str, psutil.Process]:
    """The hub (jupyterhub itself), its proxy, its three services and the worker's runner
    client, found by their command lines."""
    found = {}
    for proc in psutil.Process(hub.process.pid).children(recursive=True):
        cmd = " ".join(proc.cmdline())
        for name, mark in MARKS.items():
            if mark in cmd and name not in found:
                found[name] = proc
    assert set(found) == set(MARKS), found
    return found


# Each probe prints "PROBE <name> <outcome>", the outcome being ALLOWED or the exception's name.
PROBE = """
import os, pwd, psycopg
from psycopg.conninfo import conninfo_to_dict
def probe(name, action):
    try:
        action()
        outcome = "ALLOWED"
    except Exception as e:
        outcome = type(e).__name__
    print("PROBE", name, outcome)
def read(path):
    with open(path, "rb") as f:
        f.read(1)
print("UID", os.getuid(), os.geteuid(), pwd.getpwuid(os.getuid()).pw_name)
for path in {files!r}:
    probe("read:" + path, lambda: read(path))
for path in {folders!r}:
    probe("list:" + path, lambda: os.listdir(path))
for pid in {pids!r}:
    probe(f"environ:{{pid}}", lambda: read(f"/proc/{{pid}}/environ"))
def launcher():
    import socket
    with socket.socket(socket.AF_UNIX) as s:
        s.connect({launcher!r})
probe("launcher", launcher)
reader = conninfo_to_dict(os.environ["APHOS_DATABASE_URL"])
def login(**kw):
    params = {{"dbname": reader["dbname"], "port": reader["port"], "connect_timeout": 10, **kw}}
    with psycopg.connect(**params) as conn:
        conn.execute("SELECT 1")
socket = reader["host"]
for role in ("postgres", "aphos_owner", "aphos_writer"):
    probe(f"peer:{{role}}", lambda: login(host=socket, user=role))
    for i, guess in enumerate(("", "postgres", role, reader["password"])):
        for host in (socket, "127.0.0.1"):
            probe(f"password:{{role}}@{{host}}:{{i}}",
                  lambda: login(host=host, user=role, password=guess))
for host in (socket, "127.0.0.1"):
    probe(f"reader@{{host}}", lambda: login(host=host, user="aphos_reader",
                                            password=reader["password"]))
"""


def test_a_workspace_can_take_nothing_but_the_reader(platform):
    home, hub = platform["home"], platform["hub"]
    bob_token = signed_in(platform, "bob", "Bob")
    alice_token = signed_in(platform, "alice", "Alice")
    spawn(platform, BOB, bob_token)
    spawn(platform, ALICE, alice_token)
    try:
        alice = pwd.getpwnam(workspace_account(ALICE))
        bob = pwd.getpwnam(workspace_account(BOB))
        assert 0 != alice.pw_uid != bob.pw_uid != 0
        alice_home, bob_home = home / "users" / ALICE, home / "users" / BOB
        for account, folder in ((alice, alice_home), (bob, bob_home)):
            info = folder.stat()
            assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (account.pw_uid, 0o700)
            shared = folder / "shared-notebooks"
            assert shared.stat().st_uid == account.pw_uid, shared
        (bob_home / "notes.txt").write_text("bob's own\n")
        (bob_home / "notes.txt").chmod(0o644)  # even a readable file: the home is closed

        processes = platform_processes(hub)
        # The hub and its proxy run as the hub's account; the launcher (root) switches.
        hub_uid = pwd.getpwnam(HUB_ACCOUNT).pw_uid
        assert hub_uid != 0
        for name in ("hub", "proxy", "worker-client"):
            assert set(processes[name].uids()) == {hub_uid}, name
        pid_file = home / "hub" / "jupyterhub.pid"
        assert int(pid_file.read_text()) == processes["hub"].pid
        assert pid_file.stat().st_uid == hub_uid
        for name in ("api", "worker", "dashboards"):
            uid = pwd.getpwnam(SERVICE_ACCOUNTS[name]).pw_uid
            assert set(processes[name].uids()) == {uid}, name
        for name in (ALICE, BOB):
            servers = [
                p
                for p in psutil.Process(hub.process.pid).children(recursive=True)
                if p.username() == workspace_account(name)
            ]
            assert servers, name
        launcher = socket_path(HubSettings.from_environment({"APHOS_HOME": str(home)}))
        secrets = sorted(str(p) for p in (home / "secrets").iterdir())
        assert any(p.endswith("aphos_reader.password") for p in secrets), secrets
        files = [
            *secrets,
            str(home / "hub" / "cookie_secret"),
            str(home / "hub" / "jupyterhub.sqlite"),
            str(bob_home / "notes.txt"),
        ]
        folders = [
            str(home / "secrets"),
            str(home / "hub"),
            str(bob_home),
            str(home / "uploads"),
            str(home / "reports"),
        ]
        pids = [p.pid for p in processes.values()]
        code = PROBE.format(files=files, folders=folders, pids=pids, launcher=str(launcher))
        out = execute(platform["url"], ALICE, alice_token, code)

        uid_line = next(line for line in out.splitlines() if line.startswith("UID "))
        assert uid_line.split()[1:] == [str(alice.pw_uid)] * 2 + [alice.pw_name], out
        outcomes = dict(line.split()[1:3] for line in out.splitlines() if line.startswith("PROBE "))
        expected = {f"read:{p}": "PermissionError" for p in files}
        expected |= {f"list:{p}": "PermissionError" for p in folders}
        expected |= {f"environ:{pid}": "PermissionError" for pid in pids}
        expected["launcher"] = "PermissionError"
        for role in ("postgres", "aphos_owner", "aphos_writer"):
            expected[f"peer:{role}"] = "OperationalError"
        expected |= {k: "OperationalError" for k in outcomes if k.startswith("password:")}
        expected |= {k: "ALLOWED" for k in outcomes if k.startswith("reader@")}
        assert outcomes == expected, out
        assert sum(k.startswith("password:") for k in outcomes) == 3 * 4 * 2
        assert sum(k.startswith("reader@") for k in outcomes) == 2

        # The services still do their work as their own accounts: an upload from the kernel
        # is received by the api, ingested by the worker's job, reported back by the api.
        sent = execute(
            platform["url"],
            ALICE,
            alice_token,
            UPLOAD.format(path=str(FIXTURES / "correct_file.csv")),
            timeout=300,
        )
        line = next((x for x in sent.splitlines() if x.startswith("OUTCOME ")), None)
        assert line is not None, sent + hub.tail()
        upload_id, files_out = ast.literal_eval(line.removeprefix("OUTCOME "))
        assert files_out == [{"filename": "correct_file.csv", "status": "stored", "fluxes": 2671}]
        report = httpx.get(
            f"{platform['url']}/services/api/api/v2/uploads/{upload_id}/report",
            params={"format": "html"},
            timeout=60,
            headers={"Authorization": f"token {alice_token}"},
        )
        assert report.status_code == 200 and "correct_file.csv" in report.text
        api_uid = pwd.getpwnam(SERVICE_ACCOUNTS["api"]).pw_uid
        worker_uid = pwd.getpwnam(SERVICE_ACCOUNTS["worker"]).pw_uid
        assert {p.stat().st_uid for p in (home / "uploads").rglob("*.csv")} == {api_uid}
        assert {p.stat().st_uid for p in (home / "reports").rglob("*.ipynb")} == {worker_uid}

        # Links planted in her home lead the next start nowhere: root writes nothing in a home.
        victim, victim_dir = home / "victim.txt", home / "victim-dir"
        victim.write_text("root's own\n")
        victim_dir.mkdir()
        (victim_dir / "kept.txt").write_text("root's too\n")
        execute(
            platform["url"],
            ALICE,
            alice_token,
            PLANT.format(file=str(victim), folder=str(victim_dir)),
        )
        stop(platform, ALICE, alice_token)
        spawn(platform, ALICE, alice_token)
        assert victim.read_text() == "root's own\n" and victim.stat().st_uid == 0
        assert (victim_dir / "kept.txt").read_text() == "root's too\n"
        assert {p.stat().st_uid for p in victim_dir.iterdir()} | {victim_dir.stat().st_uid} == {0}
        for fresh in (alice_home / "dashboards" / "upload.ipynb", alice_home / "shared-notebooks"):
            assert not fresh.is_symlink() and fresh.stat().st_uid == alice.pw_uid, fresh
    finally:
        stop(platform, ALICE, alice_token)
        stop(platform, BOB, bob_token)


def test_a_killed_runner_client_takes_its_service_with_it(platform):
    """The hub sees the client as the service: killed (even by SIGKILL), the launcher stops
    the worker it ran, and the hub starts the service again, through a new client."""
    processes = platform_processes(platform["hub"])
    client, worker = processes["worker-client"], processes["worker"]
    started = time.monotonic()
    client.kill()
    _, alive = psutil.wait_procs([worker], timeout=15)
    took = time.monotonic() - started
    assert not alive, f"the worker outlived its client:\n{platform['hub'].tail()}"
    print(f"the worker stopped {took:.1f} s after its runner client was killed")
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{platform['url']}/services/worker/health", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, platform["hub"].tail()
        time.sleep(1)
    again = platform_processes(platform["hub"])
    assert again["worker"].pid != worker.pid
    assert again["worker"].username() == SERVICE_ACCOUNTS["worker"]


PLANT = """
import os, pathlib, shutil
home = pathlib.Path.home()
page = home / "dashboards" / "upload.ipynb"
page.unlink()
page.symlink_to({file!r})
shutil.rmtree(home / "shared-notebooks")
(home / "shared-notebooks").symlink_to({folder!r})
print("PLANTED")
"""

UPLOAD = """
import aphos_lib
sent = aphos_lib.upload([{path!r}], wait=True, timeout=240)
table = sent.outcomes()
print("OUTCOME", (sent.id, table[["filename", "status", "fluxes"]].to_dict("records")))
"""
