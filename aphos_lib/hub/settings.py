"""The platform's settings, read once from ``APHOS_*`` environment variables.

Every value has a default that runs the local demo on one machine; production sets the Google
sign-in variables. Secrets (the Google client secret) come from the environment or from a file
outside the repository, never from committed configuration.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from aphos_lib.settings import Settings

__all__ = [
    "CHECKOUT",
    "DASHBOARDS",
    "HUB_CONFIG",
    "NOTEBOOKS",
    "HubSettings",
    "SettingsError",
    "default_proxy_command",
]

# The checkout this package sits in, when it sits in one (``make demo``): its proxy
# (``make proxy``) and its site overrides; None for an installed package.
_PARENT = Path(__file__).resolve().parents[2]
CHECKOUT: Path | None = _PARENT if (_PARENT / "hub_config" / "proxy").is_dir() else None
# What the platform serves ships inside the package, so an installed platform runs from
# anywhere: the dashboards, the shared notebooks, JupyterHub's configuration file.
DASHBOARDS = Path(resources.files("aphos_lib") / "dashboards")
NOTEBOOKS = Path(resources.files("aphos_lib") / "notebooks")
HUB_CONFIG = Path(resources.files("aphos_lib") / "hub" / "jupyterhub_config.py")
_PROXY_NAME = "configurable-http-proxy"


def default_proxy_command() -> str:
    """The hub's proxy: the checkout's (``make proxy``), else ``configurable-http-proxy`` on
    the PATH (``npm install -g configurable-http-proxy``), else the checkout's path or the bare
    name, which the start refuses with a message saying how to install it."""
    if CHECKOUT is not None:
        local = CHECKOUT / "hub_config" / "proxy" / "node_modules" / ".bin" / _PROXY_NAME
        if local.exists():
            return str(local)
    return shutil.which(_PROXY_NAME) or (str(local) if CHECKOUT is not None else _PROXY_NAME)


# Internal ports are offsets from the public one, so one variable moves a whole instance
# (two demos, or the tests, side by side on one machine).
PORT_OFFSETS = {"proxy_api": 1, "hub": 2, "api": 3, "worker": 4, "dashboards": 5}


class SettingsError(ValueError):
    """A setting that cannot work; the message names the variable."""


def _list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _secret(env: Mapping[str, str], name: str) -> str:
    """``NAME`` from the environment, else the content of the file named by ``NAME_FILE``."""
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as e:
            raise SettingsError(f"{name}_FILE={path}: {e.strerror}") from e
    return ""


@dataclass
class HubSettings:
    """What the hub, its proxy and its services need to know.

    Examples
    --------
    >>> s = HubSettings.from_environment({"APHOS_PORT": "9000", "APHOS_HOME": "/srv/aphos"})
    >>> s.port, s.internal_port("api"), s.auth
    (9000, 9003, 'local')
    """

    home: Path
    ip: str = "127.0.0.1"
    port: int = 8000
    auth: str = "local"  # "local" or "google"
    google_client_id: str = ""
    google_client_secret: str = ""
    oauth_callback_url: str = ""
    google_authorize_url: str = ""
    google_token_url: str = ""
    google_userdata_url: str = ""
    allowed_domains: list[str] = field(default_factory=list)
    allowed_emails: list[str] = field(default_factory=list)
    open_registration: bool = False
    admin_users: list[str] = field(default_factory=list)
    hub_db_url: str = ""
    notebooks_dir: Path = NOTEBOOKS
    published_dir: Path | None = None
    dashboards_dir: Path = DASHBOARDS
    proxy_command: str = ""
    # Site overrides: every *.py here is loaded after APhoS's configuration (None: none).
    overrides_dir: Path | None = None
    server_idle_timeout: int = 3600
    kernel_idle_timeout: int = 1800
    # Seconds without kernel activity before the kernel of an open dashboard is culled: a
    # reader who changes a widget is active; five minutes untouched is a tab left open, and a
    # reload starts the page again in 2-3 s (aphos_lib.hub.voila_limits).
    dashboard_kernel_idle_timeout: int = 300
    # Kernels visitors may hold at once; 0: derived from the memory by the service
    # (aphos_lib.hub.voila_limits.kernel_ceiling).
    dashboard_max_kernels: int = 0
    # Preheated kernels per dashboard: two, so that a page opened twice within seconds still
    # finds one ready while the first refills (aphos_lib.hub.dashboards.REFILL_DELAY_S).
    dashboard_kernel_pool: int = 2
    concurrent_spawn_limit: int = 10
    active_server_limit: int = 0
    # The library's settings (database, uploads, jobs, upload limits) the services share.
    core: Settings | None = None

    def __post_init__(self) -> None:
        if self.core is None:
            self.core = Settings(home=self.home, published_dir=self.published_dir)
        if self.published_dir is None:
            self.published_dir = self.core.published_dir

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> HubSettings:
        """Read the settings from ``env`` (default ``os.environ``); see README, Settings."""
        env = os.environ if env is None else env
        core = Settings.from_environment(env)
        home = core.home
        client_id = env.get("APHOS_GOOGLE_CLIENT_ID", "")
        auth = env.get("APHOS_AUTH") or ("google" if client_id else "local")
        if auth not in ("local", "google"):
            raise SettingsError(f"APHOS_AUTH={auth!r}: use 'google' or 'local'")
        port = int(env.get("APHOS_PORT", "8000"))
        ip = env.get("APHOS_IP", "127.0.0.1")
        s = cls(
            home=home,
            ip=ip,
            port=port,
            auth=auth,
            google_client_id=client_id,
            google_client_secret=_secret(env, "APHOS_GOOGLE_CLIENT_SECRET"),
            oauth_callback_url=env.get("APHOS_OAUTH_CALLBACK_URL")
            or f"http://{ip}:{port}/hub/oauth_callback",
            google_authorize_url=env.get("APHOS_GOOGLE_AUTHORIZE_URL", ""),
            google_token_url=env.get("APHOS_GOOGLE_TOKEN_URL", ""),
            google_userdata_url=env.get("APHOS_GOOGLE_USERDATA_URL", ""),
            allowed_domains=[d.lower() for d in _list(env.get("APHOS_GOOGLE_ALLOWED_DOMAINS"))],
            allowed_emails=[e.lower() for e in _list(env.get("APHOS_GOOGLE_ALLOWED_EMAILS"))],
            open_registration=_flag(env.get("APHOS_OPEN_REGISTRATION")),
            admin_users=_list(env.get("APHOS_ADMIN_USERS")),
            hub_db_url=env.get("APHOS_HUB_DB_URL")
            or f"sqlite:///{home / 'hub' / 'jupyterhub.sqlite'}",
            notebooks_dir=Path(env.get("APHOS_NOTEBOOKS_DIR") or NOTEBOOKS),
            dashboards_dir=Path(env.get("APHOS_DASHBOARDS_DIR") or DASHBOARDS),
            published_dir=core.published_dir,
            proxy_command=env.get("APHOS_PROXY_COMMAND") or default_proxy_command(),
            overrides_dir=Path(env["APHOS_HUB_OVERRIDES"])
            if env.get("APHOS_HUB_OVERRIDES")
            else (
                CHECKOUT / "hub_config" / "jupyterhub_config.d"
                if CHECKOUT is not None
                else home / "hub" / "jupyterhub_config.d"
            ),
            server_idle_timeout=int(env.get("APHOS_SERVER_IDLE_TIMEOUT", "3600")),
            kernel_idle_timeout=int(env.get("APHOS_KERNEL_IDLE_TIMEOUT", "1800")),
            dashboard_kernel_idle_timeout=int(
                env.get("APHOS_DASHBOARD_KERNEL_IDLE_TIMEOUT", "300")
            ),
            dashboard_max_kernels=int(env.get("APHOS_DASHBOARD_MAX_KERNELS", "0")),
            dashboard_kernel_pool=int(env.get("APHOS_DASHBOARD_KERNEL_POOL", "2")),
            concurrent_spawn_limit=int(env.get("APHOS_CONCURRENT_SPAWN_LIMIT", "10")),
            active_server_limit=int(env.get("APHOS_ACTIVE_SERVER_LIMIT", "0")),
            core=core,
        )
        s.check()
        return s

    def check(self) -> None:
        """Refuse settings that would start an unusable or open hub."""
        if self.auth == "google":
            if not (self.google_client_id and self.google_client_secret):
                raise SettingsError(
                    "APHOS_AUTH=google needs APHOS_GOOGLE_CLIENT_ID and "
                    "APHOS_GOOGLE_CLIENT_SECRET (or APHOS_GOOGLE_CLIENT_SECRET_FILE)"
                )
            if not (self.allowed_domains or self.allowed_emails or self.open_registration):
                # Never allow_all: it would skip the verified-email check (docs/architecture.md).
                raise SettingsError(
                    "Google sign-in needs an allow rule: APHOS_GOOGLE_ALLOWED_DOMAINS, "
                    "APHOS_GOOGLE_ALLOWED_EMAILS or APHOS_OPEN_REGISTRATION=1"
                )

    @property
    def public_url(self) -> str:
        """Where observers open the platform."""
        return f"http://{self.ip}:{self.port}"

    def internal_port(self, name: str) -> int:
        """The loopback port of an internal part: proxy_api, hub, api, worker, dashboards."""
        return self.port + PORT_OFFSETS[name]

    @property
    def workspace_dashboards_dir(self) -> Path:
        """The dashboards that run in an observer's own server only (the upload page)."""
        return self.dashboards_dir / "workspace"

    @property
    def workdir(self) -> Path:
        """The working directory of the hub and its services: the checkout, else the home
        (every path they use is absolute; this is only where they start)."""
        return CHECKOUT if CHECKOUT is not None else self.home

    @property
    def hub_dir(self) -> Path:
        """The hub's own state: its database, cookie secret and proxy pid file."""
        return self.home / "hub"

    @property
    def users_dir(self) -> Path:
        """Parent of the observers' home directories (local spawner)."""
        return self.home / "users"
