"""Sending SIPS files from a notebook: the api service's upload endpoints, as Python calls.

In a workspace kernel the hub provides everything needed: the observer's token
(``JUPYTERHUB_API_TOKEN``) and where the api service is (``APHOS_API_URL``, else derived from
``JUPYTERHUB_PUBLIC_HUB_URL``). The files are stored by the platform's worker, not by the
kernel, which cannot write to the catalogue; closing the notebook does not stop them.

Examples
--------
>>> import aphos_lib
>>> sent = aphos_lib.upload(["night1/img001.csv", "night1/img002.csv"])  # doctest: +SKIP
>>> sent.wait()  # doctest: +SKIP
>>> sent.outcomes()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

__all__ = ["Upload", "UploadClient", "UploadError", "browser_api_url", "upload"]

ENDED = ("done", "failed")
OUTCOME_COLUMNS = [
    "position",
    "filename",
    "status",
    "fluxes",
    "matched",
    "unmatched",
    "new_sources",
    "rejected_rows",
    "rejected_count",
    "duplicate",
    "error",
]


class UploadError(RuntimeError):
    """The api service refused a request; ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def api_url_from_environment(env: dict[str, str] | None = None) -> str:
    """The api service's URL (ending in ``/``) as a workspace's environment gives it."""
    env = os.environ if env is None else env
    if env.get("APHOS_API_URL"):
        return env["APHOS_API_URL"].rstrip("/") + "/"
    hub = env.get("JUPYTERHUB_PUBLIC_HUB_URL", "")
    if hub:
        return hub.rstrip("/").removesuffix("/hub") + "/services/api/"
    raise UploadError(
        0, "set APHOS_API_URL to the api service (e.g. https://aphos.example/services/api/)"
    )


def browser_api_url(env: dict[str, str] | None = None) -> str:
    """The api service's address as the observer's browser reaches it (ending in ``/``).

    A path on the hub's own origin (``JUPYTERHUB_BASE_URL`` + ``services/api/``), so that a
    page of the observer's server posts to it with the hub's cookies; ``APHOS_API_BROWSER_URL``
    overrides it.

    Examples
    --------
    >>> browser_api_url({"JUPYTERHUB_BASE_URL": "/aphos/"})
    '/aphos/services/api/'
    >>> browser_api_url({})
    '/services/api/'
    """
    env = os.environ if env is None else env
    if env.get("APHOS_API_BROWSER_URL"):
        return env["APHOS_API_BROWSER_URL"].rstrip("/") + "/"
    return (env.get("JUPYTERHUB_BASE_URL") or "/").rstrip("/") + "/services/api/"


class UploadClient:
    """The upload endpoints of one api service, with one observer's token.

    Parameters
    ----------
    api_url : str, optional
        The service, e.g. ``http://127.0.0.1:8003/services/api/``; by default from the
        environment (:func:`api_url_from_environment`).
    token : str, optional
        A hub token of the observer; by default ``$JUPYTERHUB_API_TOKEN``.
    timeout : float
        Seconds to wait for one request (sending many large files takes longer).
    """

    def __init__(
        self, api_url: str | None = None, token: str | None = None, *, timeout: float = 300.0
    ):
        self.api_url = (api_url or api_url_from_environment()).rstrip("/") + "/"
        token = token or os.environ.get("JUPYTERHUB_API_TOKEN", "")
        self._http = httpx.Client(headers={"Authorization": f"token {token}"}, timeout=timeout)
        self.base = self.api_url + "api/v2/uploads"

    def _request(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.TransportError as e:
            raise UploadError(0, f"cannot reach the api service at {self.api_url}: {e}") from e

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise UploadError(response.status_code, message)
        return response.json()

    def send(
        self, files: Iterable[str | Path | tuple[str, bytes]], *, client: str = "notebook"
    ) -> Upload:
        """Send files as one upload; the worker stores them.

        Parameters
        ----------
        files : iterable of path or (name, bytes)
            Paths are streamed from disk; ``(name, content)`` pairs are sent as given.
        client : str
            What sends them, recorded with the upload.

        Returns
        -------
        Upload

        Raises
        ------
        UploadError
            401 (not signed in), 409 (no username yet), 413 (a file over the size limit),
            429 (too many uploads still waiting): nothing was stored.
        """
        opened, parts = [], []
        try:
            for f in files:
                if isinstance(f, tuple):
                    parts.append(("files", (f[0], f[1], "text/csv")))
                else:
                    handle = open(f, "rb")  # noqa: SIM115 (closed below)
                    opened.append(handle)
                    parts.append(("files", (Path(f).name, handle, "text/csv")))
            if not parts:
                raise ValueError("no files to send")
            body = self._check(
                self._request("POST", self.base, files=parts, data={"client": client})
            )
        finally:
            for handle in opened:
                handle.close()
        return Upload(self, body["upload_id"], body["job_id"])

    def status(self, upload_id: int) -> dict:
        """One upload's state, its job's progress and each file's outcome."""
        return self._check(self._request("GET", f"{self.base}/{int(upload_id)}"))

    def uploads(self, *, limit: int = 50, offset: int = 0) -> dict:
        """The observer's uploads, newest first (``total`` and a page of ``uploads``)."""
        params = {"limit": limit, "offset": offset}
        return self._check(self._request("GET", self.base, params=params))

    def report(self, upload_id: int, *, format: str = "ipynb") -> bytes:
        """The executed notebook of an upload's job (``ipynb``, or ``html``)."""
        response = self._request(
            "GET", f"{self.base}/{int(upload_id)}/report", params={"format": format}
        )
        if response.status_code >= 400:
            self._check(response)
        return response.content

    def close(self) -> None:
        self._http.close()


class Upload:
    """One upload sent: follow it with :meth:`status` and :meth:`wait`, read :meth:`outcomes`.

    Attributes
    ----------
    id, job_id : int
    """

    def __init__(self, client: UploadClient, upload_id: int, job_id: int | None = None):
        self.client = client
        self.id = upload_id
        self.job_id = job_id
        self._last: dict | None = None

    def __repr__(self) -> str:
        return f"<Upload {self.id} job {self.job_id}>"

    @property
    def report_url(self) -> str:
        """The job's executed notebook, rendered (needs the observer's sign-in)."""
        return f"{self.client.base}/{self.id}/report?format=html"

    def status(self) -> dict:
        """The upload now (see :meth:`UploadClient.status`)."""
        self._last = self.client.status(self.id)
        return self._last

    def ended(self, status: dict | None = None) -> bool:
        """Whether the upload's job has finished (done or failed)."""
        status = status or self._last or self.status()
        return status["job"] is None or status["job"]["state"] in ENDED

    def wait(self, timeout: float = 600.0, interval: float = 0.5) -> dict:
        """Poll until the job has ended; return the final status.

        Raises
        ------
        TimeoutError
            The job did not end in ``timeout`` seconds (it goes on in the worker).
        """
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if self.ended(status):
                return status
            if time.monotonic() > deadline:
                job = status["job"]
                raise TimeoutError(
                    f"upload {self.id} is still {job['state']} after "
                    f"{timeout:g} s ({job['files_done']}/{job['files_total']})"
                )
            time.sleep(interval)

    def outcomes(self) -> pd.DataFrame:
        """One row per file: status, stored fluxes, matched/unmatched rows, rejected rows.

        ``rejected_rows`` lists ``{line, reason}`` of the rows not stored; ``status`` is None
        for a file not processed yet.
        """
        return outcomes_frame(self._last or self.status())


def outcomes_frame(status: dict) -> pd.DataFrame:
    """The per-file outcomes of an upload's status as a table (see :meth:`Upload.outcomes`)."""
    rows = [
        {**{k: f.get(k) for k in OUTCOME_COLUMNS}, "duplicate": f.get("status") == "duplicate"}
        for f in status["files"]
    ]
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS).set_index("position")


def upload(
    paths: Iterable[str | Path] | str | Path,
    *,
    wait: bool = False,
    timeout: float = 600.0,
    client: UploadClient | None = None,
) -> Upload:
    """Send SIPS files to the archive as one upload, from a workspace notebook.

    Parameters
    ----------
    paths : path or iterable of paths
        The files (SIPS ``.csv`` exports).
    wait : bool
        Return only once the worker has stored or rejected every file.
    timeout : float
        How long to wait, with ``wait``.
    client : UploadClient, optional
        By default the api service and the observer's token from the environment.

    Returns
    -------
    Upload
        ``.id``, ``.status()``, ``.wait()``, ``.outcomes()`` (a DataFrame).
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    sent = (client or UploadClient()).send(list(paths))
    if wait:
        sent.wait(timeout)
    return sent
