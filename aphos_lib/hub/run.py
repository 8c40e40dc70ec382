"""Run the whole platform in the foreground: what ``make demo`` does after loading the data.

The hub starts its proxy and the three services itself; this only checks that the proxy is
installed and starts the hub with SIGINT at its default, so that Ctrl-C in the terminal (which
reaches the hub, the proxy and every service at once) stops all of them within seconds.

Run as root, this process stays root and the hub does not: everything that needs root is
prepared here first (the accounts and directories, :mod:`aphos_lib.hub.ownership`; the
catalogue), then the launcher (:mod:`aphos_lib.hub.launcher`) starts listening, and the hub
runs as ``aphos-hub`` with only the reader's login (:func:`hub_environment`), asking the
launcher for each workspace and service.

The addresses to open are printed only once they answer: the proxy listens within seconds,
but answers 404 everywhere until the hub has started every service and added their routes
(15-20 s on two cores), and an address printed before that leads a reader to a dead end.
"""

from __future__ import annotations

import http.client
import os
import pwd
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from aphos_lib.accounts import HUB_ACCOUNT, LAUNCHER_ENV, isolated
from aphos_lib.hub.settings import HUB_CONFIG, HubSettings
from aphos_lib.settings import Settings

__all__ = [
    "demo",
    "hub_command",
    "hub_environment",
    "isolation_notice",
    "platform_answers",
    "ready_message",
    "run_hub",
]

CONFIG = HUB_CONFIG
NOT_ISOLATED = (
    "NOTE: not run as root, so every workspace and service runs as {user!r}: observers' "
    "workspaces are NOT isolated from each other or from the services on this machine (each "
    "can read the others' files and the database passwords). Fine for trying APhoS alone; "
    "run it as root for one system account per observer and per service "
    "(docs/platform.md, One machine)."
)


# What must answer through the proxy before the addresses are printed: the sign-in page and
# the services' health (the dashboards' health starts no kernel, unlike its home page).
READY_PATHS = ("/hub/login", "/services/dashboards/health", "/services/api/health")
# Say so when the platform has not answered after this long (a service failing to start).
SLOW_START_S = 120


def ready_message(settings: HubSettings) -> str:
    """What ``make demo`` prints once the platform answers: the home page first.

    Examples
    --------
    >>> from pathlib import Path
    >>> print(ready_message(HubSettings(home=Path("/srv"))))  # doctest: +NORMALIZE_WHITESPACE
    APhoS is ready. Home page (search, light curves; no sign-in needed):
    http://127.0.0.1:8000/services/dashboards/ ; sign in (local demo sign-in, any name):
    http://127.0.0.1:8000/hub/login ; Ctrl-C stops it
    """
    sign_in = "Google" if settings.auth == "google" else "local demo sign-in, any name"
    return (
        f"APhoS is ready. Home page (search, light curves; no sign-in needed): "
        f"{settings.public_url}/services/dashboards/ ; sign in ({sign_in}): "
        f"{settings.public_url}/hub/login ; Ctrl-C stops it"
    )


def platform_answers(settings: HubSettings, timeout: float = 2) -> bool:
    """Whether the sign-in page and the services answer 200 through the public address."""
    host = "127.0.0.1" if settings.ip in ("", "0.0.0.0") else settings.ip
    for path in READY_PATHS:
        connection = http.client.HTTPConnection(host, settings.port, timeout=timeout)
        try:
            connection.request("GET", path)
            if connection.getresponse().status != 200:
                return False
        except OSError:
            return False
        finally:
            connection.close()
    return True


def hub_command() -> list[str]:
    """The command line that starts the hub with APhoS's configuration."""
    return [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(CONFIG)]


def isolation_notice() -> str | None:
    """What ``make demo`` says once at start when it cannot give each part its own account."""
    if isolated():
        return None
    return NOT_ISOLATED.format(user=pwd.getpwuid(os.geteuid()).pw_name)


def hub_environment(
    settings: HubSettings, catalogue, launcher_socket: Path, environ: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a hub that runs as ``aphos-hub``: no secret but the reader's login.

    The hub needs the catalogue only for what it gives workspaces, the reader's login (which
    anyone with the reader's password has); the services get theirs from the launcher. So the
    hub's configuration finds every role's URL set to the reader's and neither starts nor
    reads the embedded database (whose secrets are root's). A Google client secret kept in a
    file the hub cannot read is handed over as a value.
    """
    from aphos_lib.hub.configurer import DATABASE_ROLE, service_environment

    env = {
        k: v
        for k, v in (os.environ if environ is None else environ).items()
        if not _PRIVATE.search(k)
    }
    env.pop("APHOS_GOOGLE_CLIENT_SECRET_FILE", None)
    if settings.google_client_secret:
        env["APHOS_GOOGLE_CLIENT_SECRET"] = settings.google_client_secret
    env.update(service_environment(catalogue, DATABASE_ROLE["user"]))
    env.update(
        {
            LAUNCHER_ENV: str(launcher_socket),
            "HOME": str(settings.hub_dir),
            "USER": HUB_ACCOUNT,
            "LOGNAME": HUB_ACCOUNT,
        }
    )
    return env


# Root's own database logins (APHOS_DATABASE_URL*, a test's superuser URL, libpq's password
# variables) stay out of the hub's environment; the reader's is set below.
_PRIVATE = re.compile(r"DATABASE_URL|PASSWORD|PGPASS")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _is_proxy(process) -> bool:
    try:
        return "configurable-http-proxy" in " ".join(process.cmdline())
    except Exception:  # psutil.Error: ended while we looked
        return False


def _launcher(settings: HubSettings):
    """As root: prepare what needs root, and a launcher listening for the hub (not serving
    yet: no thread may run while the hub is forked). The hub's account, its environment."""
    from aphos_lib.db.catalogue import Catalogue
    from aphos_lib.hub.launcher import Launcher
    from aphos_lib.hub.ownership import prepare_home, prepare_hub_state

    prepare_home(settings)
    hub = prepare_hub_state(settings)
    catalogue = Catalogue.from_environment()
    launcher = Launcher(settings, catalogue, hub)
    path = launcher.listen()
    return launcher, hub, hub_environment(settings, catalogue, path)


def _interrupt_children(pid: int, timeout: float = 8) -> None:
    """SIGTERM to every child of ``pid`` but the proxy, at once; return when they are gone
    (or ``timeout``).

    SIGTERM, not the terminal's SIGINT: each service and observer's server stops on either,
    but a server still starting (still importing) dies of SIGINT with a KeyboardInterrupt
    traceback, and of SIGTERM quietly. The proxy is left to the hub, which stops it as its
    last step: stopped earlier, the hub would see it die and start a new one first. With the
    hub as ``aphos-hub`` its children are runner clients, which pass the signal on.
    """
    import psutil

    try:
        children = [c for c in psutil.Process(pid).children() if not _is_proxy(c)]
    except psutil.Error:
        return
    for child in children:
        try:
            child.send_signal(signal.SIGTERM)
        except psutil.Error:
            pass
    psutil.wait_procs(children, timeout=timeout)


def _remember_children(pid: int, children: dict) -> None:
    import psutil

    try:
        for child in psutil.Process(pid).children():
            children.setdefault(child.pid, child)
    except psutil.Error:
        pass


def _stop_leftovers(children: dict) -> None:
    """Terminate what the hub started and left running (after a crash of the hub)."""
    import psutil

    alive = [c for c in children.values() if c.is_running()]
    for child in alive:
        try:
            child.terminate()
        except psutil.Error:
            pass
    _, still = psutil.wait_procs(alive, timeout=5)
    for child in still:
        try:
            child.kill()
        except psutil.Error:
            pass


def run_hub(
    settings: HubSettings | None = None, *, when_stopping: Callable[[], None] | None = None
) -> int:
    """Start the hub, wait for it, and return its exit code (0 after Ctrl-C).

    ``when_stopping`` runs after Ctrl-C once the hub's children (services, proxy, observers'
    servers) have stopped, while the hub itself is still finishing.

    Raises
    ------
    FileNotFoundError
        The proxy is not installed (``make demo`` installs it; see README).
    """
    settings = settings or HubSettings.from_environment()
    if not os.access(settings.proxy_command, os.X_OK):
        raise FileNotFoundError(
            f"the hub's proxy is missing ({settings.proxy_command}); 'make demo' installs it "
            "with npm (scripts/ensure-proxy), which needs Node.js >= 20 and npm; an installed "
            "APhoS finds it on the PATH (npm install -g configurable-http-proxy) or in "
            "APHOS_PROXY_COMMAND"
        )
    print(
        "APhoS is starting: the hub, its proxy and three services (about 20 s; the "
        "addresses follow once they answer)",
        flush=True,
    )
    notice = isolation_notice()
    if notice:
        print(notice, flush=True)
    # A parent that ignores SIGINT (a shell's background job) would hand that on, and the
    # hub's services would then each take 30 s to stop (docs/architecture.md, pitfalls). The
    # hub gets it at its default below; the launcher's processes inherit this process's:
    # a handler (reset to the default in them), never "ignored".
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    launcher, as_hub = None, {}
    if isolated():
        launcher, account, env = _launcher(settings)
        as_hub = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [], "env": env}
    # No terminal on stdin: Jupyter servers that see one answer SIGINT with a "Shutdown this
    # server (y/[n])?" prompt and wait for it instead of stopping.
    try:
        hub = subprocess.Popen(
            hub_command(),
            cwd=settings.workdir,
            stdin=subprocess.DEVNULL,
            preexec_fn=_default_sigint,
            **as_hub,
        )
    except BaseException:
        if launcher is not None:
            launcher.stop()
        raise
    if launcher is not None:
        launcher.serve()
    children: dict = {}
    started, ready, warned = time.monotonic(), False, False
    try:
        while True:
            # Remember the hub's children: should the hub die, they would outlive it.
            _remember_children(hub.pid, children)
            if not ready and platform_answers(settings):
                ready = True
                print(ready_message(settings), flush=True)
            elif not ready and not warned and time.monotonic() - started > SLOW_START_S:
                warned = True
                print(
                    f"APhoS has not answered at {settings.public_url}/hub/login after "
                    f"{SLOW_START_S} s: see the hub's log above",
                    flush=True,
                )
            try:
                return hub.wait(timeout=2 if ready else 0.25)
            except subprocess.TimeoutExpired:
                pass
    except KeyboardInterrupt:
        # The terminal's SIGINT reached this process and the hub, but not the services, the
        # proxy or the observers' servers: the hub starts each in a session of its own and
        # stops them one after another, polling with a growing back-off (seconds each). Hand
        # the signal to all of them at once; the hub then finds them already gone.
        _interrupt_children(hub.pid)
        if when_stopping is not None:
            when_stopping()
        try:
            hub.wait(timeout=15)
            return 0
        except subprocess.TimeoutExpired:
            hub.terminate()
            return hub.wait()
    finally:
        _stop_leftovers(children)
        if launcher is not None:
            # What the hub's runner clients left (they stop their processes as they go).
            launcher.stop()


def demo(*, seed: int = 1, images: int = 300, hub: bool = True, campaign: bool = False) -> int:
    """``make demo``: the catalogue, the demo data on the first run, then the hub until Ctrl-C.

    The embedded database is stopped again on the way out when this call started it (a
    database started before, with ``aphos db start``, keeps running).
    """
    from aphos_lib.db.catalogue import Catalogue
    from aphos_lib.db.embedded import EmbeddedPostgres
    from aphos_lib.demo.load import load_demo

    core = Settings.from_environment()
    embedded = None if core.database_url else EmbeddedPostgres(core.home)
    started_here = embedded is not None and not embedded.status().running

    def stop_database() -> None:
        # Once nothing that uses it is left: while the hub still finishes, not after it.
        if started_here and embedded.status().running:
            embedded.stop()

    try:
        status = load_demo(
            Catalogue.from_environment(), seed=seed, images=images, campaign=campaign
        )
        if status or not hub:
            return status
        try:
            return run_hub(when_stopping=stop_database)
        except FileNotFoundError as e:
            print(f"aphos: {e}", file=sys.stderr)
            return 1
    finally:
        if hub:
            stop_database()


if __name__ == "__main__":
    # `python -m aphos_lib.hub.run`: the hub alone, on a catalogue that is already running.
    sys.exit(run_hub())
