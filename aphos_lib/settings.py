"""The library's settings, read from ``APHOS_*`` environment variables in one place.

A process reads them once, where it starts (the CLI, a service's ``main``, the worker, the
hub), with :meth:`Settings.from_environment`, and passes the value down; a function that is
given none reads the environment itself, so a notebook needs no set-up. The platform's own
settings (ports, sign-in, dashboards) build on these: :class:`aphos_lib.hub.settings.HubSettings`
and :class:`aphos_lib.web.settings.ApiSettings`.

Every default runs the local demo on one machine; docs/platform.md lists the variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "JobSettings",
    "LinkRules",
    "NameResolution",
    "Settings",
    "UploadLimits",
    "aphos_home",
]


def aphos_home(env: Mapping[str, str] | None = None) -> Path:
    """``$APHOS_HOME``: where the embedded database, uploads and secrets live (``env``: the
    process's environment by default). The one place its default is decided.

    By default the ``var`` folder of the APhoS checkout the current directory is in (so a
    notebook opened in ``notebooks/`` finds ``make demo``'s catalogue), else ``./var``.

    Examples
    --------
    >>> aphos_home({"APHOS_HOME": "/srv/aphos"}).as_posix()
    '/srv/aphos'
    """
    env = os.environ if env is None else env
    if env.get("APHOS_HOME"):
        return Path(env["APHOS_HOME"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "aphos_lib" / "db").is_dir() and (folder / "pyproject.toml").is_file():
            return folder / "var"
    return here / "var"


@dataclass(frozen=True)
class UploadLimits:
    """The limits of the upload endpoints (:mod:`aphos_lib.web.rest.uploads`).

    Attributes
    ----------
    max_bytes : int
        Per file (``APHOS_UPLOAD_MAX_BYTES``, default 20 MB): a larger one answers 413.
    max_in_flight : int
        Jobs queued or running per observer (``APHOS_UPLOAD_MAX_IN_FLIGHT``, default 4): 429.
    max_files : int
        Per upload (``APHOS_UPLOAD_MAX_FILES``, default 500).
    idle_timeout : float
        Seconds without a byte of the body (``APHOS_UPLOAD_IDLE_TIMEOUT``, default 60): 408,
        and a stalled client's partial files go.

    Examples
    --------
    >>> UploadLimits.from_environment({"APHOS_UPLOAD_MAX_FILES": "3"}).max_files
    3
    >>> UploadLimits().max_bytes == 20 * 2**20
    True
    """

    max_bytes: int = 20 * 2**20
    max_in_flight: int = 4
    max_files: int = 500
    idle_timeout: float = 60.0

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> UploadLimits:
        """The limits the ``APHOS_UPLOAD_*`` variables set (``env``: the process's by default)."""
        env = os.environ if env is None else env
        default = cls()
        return cls(
            max_bytes=int(env.get("APHOS_UPLOAD_MAX_BYTES") or default.max_bytes),
            max_in_flight=int(env.get("APHOS_UPLOAD_MAX_IN_FLIGHT") or default.max_in_flight),
            max_files=int(env.get("APHOS_UPLOAD_MAX_FILES") or default.max_files),
            idle_timeout=float(env.get("APHOS_UPLOAD_IDLE_TIMEOUT") or default.idle_timeout),
        )

    @property
    def max_body(self) -> int:
        """The largest body an accepted upload can have (multipart overhead included)."""
        return self.max_files * (self.max_bytes + 4096) + 65536


@dataclass(frozen=True)
class JobSettings:
    """How the ingest worker runs jobs (:mod:`aphos_lib.jobs.runner`).

    Attributes
    ----------
    heartbeat_timeout : float
        A running job whose heartbeat is older than this (seconds) is taken over by another
        worker (``APHOS_JOB_HEARTBEAT_TIMEOUT``, 30).
    poll_interval : float
        How often an idle worker looks at the queue when no notification comes
        (``APHOS_JOB_POLL_INTERVAL``, 0.5).
    execution_timeout : float
        Longest run of one notebook cell, in seconds (``APHOS_JOB_TIMEOUT``, 3600).
    warm_kernel : bool
        Start and prime the next kernel before a job arrives (``APHOS_JOB_WARM_KERNEL``, 1).
    kernel_jobs : int
        Jobs one kernel may run in a row, reset between them (``APHOS_JOB_KERNEL_JOBS``,
        20; 1 for a new kernel for every job). A kernel is replaced after a failed job.

    Examples
    --------
    >>> JobSettings.from_environment({"APHOS_JOB_HEARTBEAT_TIMEOUT": "8"}).heartbeat_interval
    2.0
    """

    heartbeat_timeout: float = 30.0
    poll_interval: float = 0.5
    execution_timeout: float = 3600.0
    warm_kernel: bool = True
    kernel_jobs: int = 20

    @property
    def heartbeat_interval(self) -> float:
        """A few heartbeats per timeout, so one slow write does not look like a death."""
        return self.heartbeat_timeout / 4

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> JobSettings:
        """The settings, from ``APHOS_JOB_*`` where set (``env``: the process's by default)."""
        env = os.environ if env is None else env
        return cls(
            heartbeat_timeout=float(env.get("APHOS_JOB_HEARTBEAT_TIMEOUT", 30)),
            poll_interval=float(env.get("APHOS_JOB_POLL_INTERVAL", 0.5)),
            execution_timeout=float(env.get("APHOS_JOB_TIMEOUT", 3600)),
            warm_kernel=env.get("APHOS_JOB_WARM_KERNEL", "1") != "0",
            kernel_jobs=max(1, int(env.get("APHOS_JOB_KERNEL_JOBS", 20))),
        )


@dataclass(frozen=True)
class NameResolution:
    """How a name the archive does not hold is found on the sky (:mod:`aphos_lib.name_resolution`).

    Attributes
    ----------
    sesame_url : str
        CDS Sesame, asked as ``<sesame_url>/-oI/SNV?<name>`` (``APHOS_SESAME_URL``, default
        ``https://cds.unistra.fr/cgi-bin/nph-sesame``; a mirror, or a stand-in in tests).
    timeout : float
        Seconds Sesame has to answer (``APHOS_SESAME_TIMEOUT``, 3); an answer that trickles
        in is given up after twice that.
    max_bytes : int
        The most of an answer read (64 KiB; one star's answer is about 1 KB).
    cone_arcsec : float
        Radius of the cone searched around a resolved position (``APHOS_NAME_CONE_ARCSEC``,
        10 arcsec).

    Examples
    --------
    >>> NameResolution.from_environment({"APHOS_NAME_CONE_ARCSEC": "30"}).cone_arcsec
    30.0
    >>> NameResolution().sesame_url
    'https://cds.unistra.fr/cgi-bin/nph-sesame'
    """

    sesame_url: str = "https://cds.unistra.fr/cgi-bin/nph-sesame"
    timeout: float = 3.0
    max_bytes: int = 64 * 1024
    cone_arcsec: float = 10.0

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> NameResolution:
        """The settings the variables give (``env``: the process's by default)."""
        env = os.environ if env is None else env
        default = cls()
        return cls(
            sesame_url=env.get("APHOS_SESAME_URL") or default.sesame_url,
            timeout=float(env.get("APHOS_SESAME_TIMEOUT") or default.timeout),
            cone_arcsec=float(env.get("APHOS_NAME_CONE_ARCSEC") or default.cone_arcsec),
        )


@dataclass(frozen=True)
class Settings:
    """Where the archive lives and how its services behave.

    Attributes
    ----------
    home : Path
        ``APHOS_HOME`` (:func:`aphos_home`).
    database_url, writer_url, reader_url : str or None
        An external PostgreSQL (``APHOS_DATABASE_URL``, and the roles' own
        ``APHOS_DATABASE_URL_WRITER``/``_READER``); None: the embedded one under ``home``.
    uploads_dir : Path
        Uploaded files (``APHOS_UPLOADS_DIR``, else ``home/uploads``).
    published_dir : Path
        Published notebooks (``APHOS_PUBLISHED_DIR``, else ``home/published``).
    workers : int
        Worker processes of the worker service (``APHOS_WORKERS``, 1).
    jobs : JobSettings
    upload_limits : UploadLimits
    names : NameResolution

    Examples
    --------
    >>> s = Settings.from_environment({"APHOS_HOME": "/srv/aphos", "APHOS_WORKERS": "3"})
    >>> s.uploads_dir.as_posix(), s.workers, s.database_url
    ('/srv/aphos/uploads', 3, None)
    """

    home: Path
    database_url: str | None = None
    writer_url: str | None = None
    reader_url: str | None = None
    uploads_dir: Path | None = None
    published_dir: Path | None = None
    workers: int = 1
    jobs: JobSettings = field(default_factory=JobSettings)
    upload_limits: UploadLimits = field(default_factory=UploadLimits)
    names: NameResolution = field(default_factory=NameResolution)

    def __post_init__(self) -> None:
        # Frozen: the derived defaults are set once, here.
        if self.uploads_dir is None:
            object.__setattr__(self, "uploads_dir", self.home / "uploads")
        if self.published_dir is None:
            object.__setattr__(self, "published_dir", self.home / "published")

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings the ``APHOS_*`` variables give (``env``: the process's by default)."""
        env = os.environ if env is None else env
        uploads, published = env.get("APHOS_UPLOADS_DIR"), env.get("APHOS_PUBLISHED_DIR")
        return cls(
            home=aphos_home(env),
            database_url=env.get("APHOS_DATABASE_URL") or None,
            writer_url=env.get("APHOS_DATABASE_URL_WRITER") or None,
            reader_url=env.get("APHOS_DATABASE_URL_READER") or None,
            uploads_dir=Path(uploads).resolve() if uploads else None,
            published_dir=Path(published) if published else None,
            workers=max(1, int(env.get("APHOS_WORKERS") or 1)),
            jobs=JobSettings.from_environment(env),
            upload_limits=UploadLimits.from_environment(env),
            names=NameResolution.from_environment(env),
        )


@dataclass(frozen=True)
class LinkRules:
    """When two catalogue objects are one star.

    Attributes
    ----------
    radius_arcsec : float
        Largest separation of one star's positions (``APHOS_LINK_RADIUS_ARCSEC``, 1.5).
    max_mag_diff : float
        Largest difference of the catalogues' magnitudes, where both give one
        (``APHOS_LINK_MAX_MAG_DIFF``, 1.0: catalogues measure in different bands).
    moving_arcsec : float
        Catalogue positions up to this far apart are compared by their measured positions
        (``APHOS_LINK_MOVING_ARCSEC``, 10: a star moving 0.5"/yr between epochs 20 years
        apart).

    Examples
    --------
    >>> LinkRules.from_environment({"APHOS_LINK_RADIUS_ARCSEC": "2"}).radius_arcsec
    2.0
    """

    radius_arcsec: float = 1.5
    max_mag_diff: float = 1.0
    moving_arcsec: float = 10.0

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> LinkRules:
        """The rules the ``APHOS_LINK_*`` variables give (``env``: the process's)."""
        env = os.environ if env is None else env
        return cls(
            radius_arcsec=float(env.get("APHOS_LINK_RADIUS_ARCSEC", 1.5)),
            max_mag_diff=float(env.get("APHOS_LINK_MAX_MAG_DIFF", 1.0)),
            moving_arcsec=float(env.get("APHOS_LINK_MOVING_ARCSEC", 10.0)),
        )
