"""What the api service is built from: its catalogue, sign-in, published area and limits.

:func:`aphos_lib.web.app.create_app` takes one :class:`ApiSettings`; the routes read it from
the application (:func:`aphos_lib.web.deps.settings_of`), never from the environment.
:meth:`ApiSettings.from_environment` is the one place the service's environment is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.settings import Settings, UploadLimits
from aphos_lib.web.service_auth import ServiceAuth

__all__ = ["ApiSettings", "UploadLimits"]

# A request's query may run this long (seconds); the proxy in front waits far longer
# (aphos_lib.hub.configurer), so a slow query answers 503 before anything times out there.
STATEMENT_TIMEOUT = 15.0
# Light curves are the heavy requests: they get their own few connections, so that searches
# always find one free; beyond them a light curve waits this long (seconds), then answers 503.
HEAVY_POOL_SIZE = 2
HEAVY_WAIT = 5.0


@dataclass
class ApiSettings:
    """Everything the api service's application is built from.

    Attributes
    ----------
    catalogue : Catalogue, optional
        Where to read and write; by default ``Catalogue.from_environment()``, opened on first
        use (building the application never needs the database). Reads use its read-only role
        through pools; the service's own writes its writer role.
    auth : ServiceAuth, optional
        Hub sign-in. Without it the application is the public catalogue API alone (tests,
        benchmarks): no sign-in, uploads, profiles, published notebooks or pages.
    published_dir : Path, optional
        The published area; by default ``$APHOS_PUBLISHED_DIR``, else ``$APHOS_HOME/published``.
    upload_limits : UploadLimits
    prefix : str, optional
        URL prefix of every route, ending in ``/``; by default the sign-in's
        (``/services/api/``), or ``/`` without one.
    pool_size : int
        Read-only connections the searches and pages share.
    heavy_pool_size, heavy_wait : int, float
        The connections light curves take turns on (their own pool, apart from the
        searches'), and how long one waits for a turn before it answers 503.
    statement_timeout : float
        Seconds a query may run before it is cancelled and the request answers 503.

    Examples
    --------
    >>> ApiSettings().prefix, ApiSettings(prefix="/x/").route_prefix
    ('/', '/x')
    """

    catalogue: Catalogue | None = None
    auth: ServiceAuth | None = None
    published_dir: Path | None = None
    upload_limits: UploadLimits = field(default_factory=UploadLimits)
    prefix: str | None = None
    pool_size: int = 4
    heavy_pool_size: int = HEAVY_POOL_SIZE
    heavy_wait: float = HEAVY_WAIT
    statement_timeout: float = STATEMENT_TIMEOUT

    def __post_init__(self) -> None:
        if self.prefix is None:
            self.prefix = self.auth.prefix if self.auth is not None else "/"
        if self.published_dir is None:
            self.published_dir = Settings.from_environment().published_dir

    @classmethod
    def from_environment(cls) -> ApiSettings:
        """The hub's ``api`` service: hub sign-in from ``JUPYTERHUB_*``, ``APHOS_*`` settings."""
        core = Settings.from_environment()
        return cls(
            auth=ServiceAuth(),
            published_dir=core.published_dir,
            upload_limits=core.upload_limits,
        )

    @property
    def route_prefix(self) -> str:
        """:attr:`prefix` without its trailing slash, as routers are included under it."""
        return self.prefix.rstrip("/")

    def open_catalogue(self) -> Catalogue:
        """The catalogue, from the environment on first use when none was given."""
        if self.catalogue is None:
            self.catalogue = Catalogue.from_environment(start=False)
        return self.catalogue
