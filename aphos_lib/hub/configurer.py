"""JupyterHub configuration, one function per concern, each testable on a plain ``Config()``.

``hub_config/jupyterhub_config.py`` calls :func:`apply_config` and then loads the site
overrides in ``hub_config/jupyterhub_config.d/``; nothing here starts a process.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

from traitlets.config import Config

from aphos_lib import accounts
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.hub.settings import HubSettings

__all__ = [
    "apply_config",
    "prepare_directories",
    "service_command",
    "service_environment",
    "service_process_environment",
    "update_auth",
    "update_limits",
    "update_network",
    "update_roles",
    "update_services",
    "update_spawner",
    "update_templates",
    "workspace_environment",
]

BIN = Path(sys.executable).parent
SERVICES = ("api", "worker", "dashboards")
# The module each service runs as (``python -m``), here and in hub_config/k8s/services.yaml.
SERVICE_MODULES = {
    "api": "aphos_lib.web.api",
    "worker": "aphos_lib.hub.worker",
    "dashboards": "aphos_lib.hub.dashboards",
}
# Which database role each part of the platform gets (docs/architecture.md, security model).
DATABASE_ROLE = {"api": "writer", "worker": "writer", "dashboards": "reader", "user": "reader"}
# The hub's pages in the site's look (page.html, every sign-in); the local demo's login page
# (local/login.html) only with the local sign-in.
TEMPLATES = Path(resources.files("aphos_lib.hub") / "templates")
LOCAL_TEMPLATES = TEMPLATES / "local"
# How long the proxy waits for a service to start answering or send more (ms): without it a
# hung request held its connection for ever. Well above the api's statement timeout (15 s,
# aphos_lib.web.settings), so a slow query answers 503 itself first; websockets are not timed.
PROXY_TIMEOUT_MS = 120_000


def service_environment(catalogue: Catalogue, role: str) -> dict[str, str]:
    """Database settings for a process that may act only as ``role`` (writer or reader).

    The process sees that role's login as its ``APHOS_DATABASE_URL``; it is given no owner
    login, so ``Catalogue.from_environment()`` there can do no more than the role allows.
    """
    url = catalogue.conninfo(role)
    # A reader's "writer" is its own login too: a write then fails for lack of privilege
    # instead of switching to a role it was never given.
    return {
        "APHOS_DATABASE_URL": url,
        "APHOS_DATABASE_URL_WRITER": url,
        "APHOS_DATABASE_URL_READER": catalogue.conninfo("reader"),
    }


def arrival_url(handler) -> str:
    """Where the hub sends someone who did not ask for a page: a visitor who opens the site's
    root gets the public home page (the catalogue needs no account); after sign-in observers
    land on their welcome, which asks for a username the first time."""
    from jupyterhub.handlers.pages import RootHandler

    if isinstance(handler, RootHandler) and handler.current_user is None:
        return "/services/dashboards/"
    return "/services/api/welcome"


def update_network(c: Config, s: HubSettings) -> None:
    """Public address, internal ports, the npm proxy and where the hub keeps its state."""
    c.JupyterHub.bind_url = f"{s.public_url}/"
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = s.internal_port("hub")
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.internal_port('proxy_api')}"
    c.ConfigurableHTTPProxy.command = [s.proxy_command, f"--proxy-timeout={PROXY_TIMEOUT_MS}"]
    c.ConfigurableHTTPProxy.pid_file = str(s.hub_dir / "proxy.pid")
    c.JupyterHub.db_url = s.hub_db_url
    c.JupyterHub.cookie_secret_file = str(s.hub_dir / "cookie_secret")
    c.JupyterHub.pid_file = str(s.hub_dir / "jupyterhub.pid")
    c.JupyterHub.default_url = arrival_url


def update_auth(c: Config, s: HubSettings) -> None:
    """Google sign-in in production; the local demo login otherwise."""
    if s.auth == "google":
        c.JupyterHub.authenticator_class = "aphos_lib.hub.auth.AphosGoogleOAuthenticator"
        a = c.AphosGoogleOAuthenticator
        a.client_id = s.google_client_id
        a.client_secret = s.google_client_secret
        a.oauth_callback_url = s.oauth_callback_url
        a.allowed_email_domains = set(s.allowed_domains)
        a.allowed_emails = set(s.allowed_emails)
        a.open_registration = s.open_registration
        a.allow_all = False  # allow_all would skip the verified-email check
        a.enable_auth_state = False
        for trait, value in (
            ("authorize_url", s.google_authorize_url),
            ("token_url", s.google_token_url),
            ("userdata_url", s.google_userdata_url),
        ):
            if value:  # only the tests' stand-in provider sets these
                a[trait] = value
    else:
        c.JupyterHub.authenticator_class = "aphos_lib.hub.auth.LocalDemoAuthenticator"
        c.LocalDemoAuthenticator.allow_all = True
    c.Authenticator.admin_users = set(s.admin_users)


def hub_header(user) -> str:
    """The site's header on a hub page (``template_vars``: the hub passes the signed-in user,
    or None)."""
    from aphos_lib.theme import site_header

    return site_header(signed_in=user is not None, workspace=user is not None)


def update_templates(c: Config, s: HubSettings) -> None:
    """The hub's pages with the site's header and stylesheet (``aphos_lib/hub/templates``);
    with the local sign-in, its own login page, which says it is local and asks for any name.
    Google sign-in keeps the hub's login page ("Sign in with Google")."""
    from aphos_lib.theme import theme_style

    local = [str(LOCAL_TEMPLATES)] if s.auth != "google" else []
    c.JupyterHub.template_paths = [*local, str(TEMPLATES)]
    c.JupyterHub.template_vars = {"aphos_style": theme_style(), "aphos_header": hub_header}


def workspace_environment(s: HubSettings, catalogue: Catalogue) -> dict[str, str]:
    """What a workspace's server is given: the reader's login and where its files are.

    The launcher prepares a home from the same values (:mod:`aphos_lib.hub.launcher`).
    """
    env = service_environment(catalogue, DATABASE_ROLE["user"])
    env["APHOS_SHARED_NOTEBOOKS"] = str(s.notebooks_dir)
    env["APHOS_WORKSPACE_DASHBOARDS"] = str(s.workspace_dashboards_dir)
    env["APHOS_PUBLISHED_DIR"] = str(s.published_dir)
    # Where aphos_lib's upload client reaches the api service from a kernel (same machine).
    env["APHOS_API_URL"] = f"http://127.0.0.1:{s.internal_port('api')}/services/api/"
    return env


def update_spawner(c: Config, s: HubSettings, catalogue: Catalogue) -> None:
    """JupyterLab per observer under ``$APHOS_HOME/users``, with the read-only role.

    Run as root, each observer's server runs as a system account of their own
    (:mod:`aphos_lib.hub.spawner`); as a normal user, as that user.
    """
    c.JupyterHub.spawner_class = "aphos_lib.hub.spawner.WorkspaceSpawner"
    c.WorkspaceSpawner.home_dir_template = str(s.users_dir / "{username}")
    c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
    c.Spawner.default_url = "/lab"
    c.Spawner.environment = workspace_environment(s, catalogue)
    # The kernel's JUPYTERHUB_API_TOKEN also opens the api service (uploads from notebooks);
    # the rest is the hub's default "server" role.
    c.Spawner.server_token_scopes = [
        "users:activity!user",
        "access:servers!server",
        "access:services!service=api",
    ]
    args = [
        f"--ServerApp.shutdown_no_activity_timeout={s.server_idle_timeout}",
        f"--MappingKernelManager.cull_idle_timeout={s.kernel_idle_timeout}",
        "--MappingKernelManager.cull_interval=60",
    ]
    c.Spawner.args = args
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120


def service_command(name: str, s: HubSettings) -> list[str]:
    """The command line of the service ``name`` (api, worker or dashboards)."""
    if name == "dashboards":
        from aphos_lib.hub import dashboards

        return dashboards.command(s)
    return [sys.executable, "-m", SERVICE_MODULES[name]]


def service_process_environment(name: str, s: HubSettings, catalogue: Catalogue) -> dict[str, str]:
    """What the service ``name`` is given beyond the hub's ``JUPYTERHUB_*`` variables."""
    env = service_environment(catalogue, DATABASE_ROLE[name])
    env["APHOS_HOME"] = str(s.home)
    env["APHOS_PUBLISHED_DIR"] = str(s.published_dir)
    if name == "worker":
        # How many worker processes (default 1 on one machine) and the job settings.
        env.update(
            {
                k: v
                for k, v in os.environ.items()
                if k == "APHOS_WORKERS" or k.startswith("APHOS_JOB_")
            }
        )
    return env


def update_services(c: Config, s: HubSettings, catalogue: Catalogue) -> None:
    """The three hub-managed services, each with its own database role.

    Run as root each runs as its own account (:data:`aphos_lib.accounts.SERVICE_ACCOUNTS`),
    so neither workspaces nor the other services can read its files or its environment. A
    hub run as its own account (:func:`aphos_lib.accounts.launcher_socket`) starts each
    through the launcher, which computes the command and the environment itself.
    """
    from aphos_lib.hub.as_account import runner_command
    from aphos_lib.hub.ownership import service_home

    launcher = accounts.launcher_socket() is not None
    services = []
    for name in SERVICES:
        user = {}
        if launcher:
            # The hub runs as its own account: the launcher (root) starts the service as its
            # account, with the command and database login it computes itself. The hub holds
            # neither, so it cannot run anything else as a writer.
            command = runner_command("service", name)
            env = {accounts.LAUNCHER_ENV: accounts.launcher_socket()}
        else:
            command, env = service_command(name, s), service_process_environment(name, s, catalogue)
            if accounts.isolated():
                # The hub gives the account's passwd home as HOME; this instance's is elsewhere.
                command = ["/usr/bin/env", f"HOME={service_home(s, name)}", *command]
                user = {"user": accounts.SERVICE_ACCOUNTS[name]}
        services.append(
            {
                "name": name,
                "url": f"http://127.0.0.1:{s.internal_port(name)}",
                "command": command,
                "environment": env,
                "cwd": str(s.workdir),
                # api signs observers in through the hub (OAuth); the others need no client.
                "oauth_no_confirm": True,
                "display": name != "worker",
                **user,
            }
        )
    c.JupyterHub.services = services


def update_roles(c: Config, s: HubSettings) -> None:
    """What observers and each service may do on the hub."""
    c.JupyterHub.load_roles = [
        {
            "name": "user",
            "description": "Observers: their own server, the services, sharing",
            # shares!user: share their own server; read:users:name to find whom to share with.
            "scopes": [
                "self",
                "access:services",
                "shares!user",
                "read:users:name",
                "read:groups:name",
            ],
        },
        {
            "name": "aphos-api",
            "description": "The api service: identifies observers from their hub tokens",
            "scopes": ["read:users:name"],
            "services": ["api"],
        },
        {
            "name": "aphos-worker",
            "description": "The ingest worker: reads who owns a job",
            "scopes": ["read:users:name"],
            "services": ["worker"],
        },
        {
            "name": "aphos-dashboards",
            "description": "Public dashboards: no hub access needed",
            "scopes": ["read:hub"],
            "services": ["dashboards"],
        },
    ]


def update_limits(c: Config, s: HubSettings) -> None:
    """Spawn concurrency, active servers, and stopping everything with the hub."""
    c.JupyterHub.concurrent_spawn_limit = s.concurrent_spawn_limit
    c.JupyterHub.active_server_limit = s.active_server_limit
    # Ctrl-C on `make demo` stops the observers' servers too, not only the hub.
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.cleanup_proxy = True


def prepare_directories(s: HubSettings) -> None:
    """The hub's private state directory, the observers' homes' parent, the services' files.

    Run as root this also creates the services' accounts and hands them their files
    (:mod:`aphos_lib.hub.ownership`). A hub started by ``aphos_lib.hub.run`` as its own
    account finds it all done (it could not do it itself).
    """
    from aphos_lib.hub.ownership import prepare_home

    if accounts.launcher_socket() is None:
        prepare_home(s)


def apply_config(
    c: Config, s: HubSettings | None = None, catalogue: Catalogue | None = None
) -> Config:
    """Apply every concern to ``c``; read the environment and the catalogue when not given."""
    s = s or HubSettings.from_environment()
    catalogue = catalogue or Catalogue.from_environment()
    update_network(c, s)
    update_auth(c, s)
    update_templates(c, s)
    update_spawner(c, s, catalogue)
    update_services(c, s, catalogue)
    update_roles(c, s)
    update_limits(c, s)
    return c
