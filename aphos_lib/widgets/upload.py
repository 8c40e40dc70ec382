"""The upload widget: pick SIPS files, send them, follow each upload until it is stored.

Usable in any notebook and in the upload dashboard::

    from aphos_lib.widgets.upload import UploadWidget
    UploadWidget()

The browser sends the chosen files itself, straight to the api service, with a bar for the
sending (:mod:`aphos_lib.widgets.upload_sender`): a whole night, up to the service's limits
(``APHOS_UPLOAD_MAX_FILES`` files of ``APHOS_UPLOAD_MAX_BYTES``), in one upload. Each upload
then gets a panel with a bar for the storing (files done / files in the upload) that follows
the job in the worker, then a table of each file's outcome and a link to the job's executed
notebook. The job runs in the platform's worker: closing the page does not stop it, and the
profile's upload log shows it later. Every part carries a stable CSS class (``aphos-upload-*``)
for browser tests.
"""

from __future__ import annotations

import threading
import time
from html import escape
from urllib.parse import urlsplit

import ipywidgets as widgets

from aphos_lib.uploads.client import ENDED, Upload, UploadClient, UploadError, browser_api_url
from aphos_lib.widgets.upload_sender import BrowserSender

__all__ = ["UploadPanel", "UploadWidget", "outcome_html", "summary_text"]

# The rejected rows the table lists of each file (the count says how many there were).
_LISTED_ROWS = 20
_STATUS_TEXT = {
    "stored": "stored",
    "duplicate": "already in the archive (nothing new stored)",
    "rejected": "rejected",
    None: "waiting",
}


_TABLE_STYLE = (
    "<style>.aphos-upload-table{border-collapse:collapse}"
    ".aphos-upload-table td,.aphos-upload-table th{padding:.15em .6em;"
    "border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
    ".aphos-upload-table td:nth-child(n+3):nth-child(-n+6){text-align:right}"
    ".aphos-upload-table ul{margin:.2em 0;padding-left:1.2em}"
    ".aphos-upload-table summary{cursor:pointer}</style>"
)


def summary_text(status: dict) -> str:
    """One line about an upload: its job's state and what its files became so far."""
    job = status.get("job") or {}
    files = status["files"]
    counts = {k: sum(f["status"] == k for f in files) for k in ("stored", "duplicate", "rejected")}
    fluxes = sum(f["fluxes"] for f in files)
    state = {
        "queued": "waiting for a worker",
        "running": "being stored",
        "done": "finished",
        "failed": "failed",
    }.get(job.get("state"), status["state"])
    parts = [f"{counts['stored']} stored ({fluxes:,} fluxes)"]
    if counts["duplicate"]:
        parts.append(f"{counts['duplicate']} duplicate")
    if counts["rejected"]:
        parts.append(f"{counts['rejected']} rejected")
    text = f"Upload {status['id']}: {state}; " + ", ".join(parts)
    return text + (f". {job['error']}" if job.get("error") else "")


def outcome_html(status: dict) -> str:
    """The per-file outcome table: status, fluxes, matched/unmatched, the APhoS sources a file
    founded, rejected rows, errors."""
    rows = []
    for f in status["files"]:
        count = f.get("rejected_count", len(f["rejected_rows"]))
        rejected = "".join(
            f"<li>line {r['line']}: {escape(str(r['reason']))}</li>"
            for r in f["rejected_rows"][:_LISTED_ROWS]
        )
        if count > _LISTED_ROWS:
            rejected += f"<li>{count - _LISTED_ROWS:,} more</li>"
        # The lines behind a click: a night's files would otherwise run to a thousand lines.
        listed = (
            f"<details><summary>{count:,}</summary><ul>{rejected}</ul></details>"
            if rejected
            else f"{count:,}"
        )
        rows.append(
            f"<tr class='aphos-upload-file aphos-upload-{f['status'] or 'waiting'}'>"
            f"<td>{escape(f['filename'])}</td><td>{_STATUS_TEXT.get(f['status'], f['status'])}"
            f"</td><td>{f['fluxes']:,}</td><td>{f['matched']:,}</td><td>{f['unmatched']:,}</td>"
            f"<td>{f.get('new_sources', 0):,}</td>"
            f"<td class='aphos-upload-lines'>{listed}</td>"
            f"<td>{escape(f['error'] or '')}</td></tr>"
        )
    return (
        f"{_TABLE_STYLE}<table class='aphos-upload-table'><thead><tr><th>file</th>"
        "<th>outcome</th>"
        "<th>fluxes stored</th><th>matched</th><th>unmatched</th><th>new sources</th>"
        "<th>rejected rows</th>"
        f"<th>message</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


class UploadPanel(widgets.VBox):
    """One upload followed until its job ends: progress, then the outcome table."""

    def __init__(self, upload: Upload, files_total: int):
        self.upload = upload
        self.title = widgets.HTML(f"<b>Upload {upload.id}</b>: {files_total} file(s) sent")
        self.progress = widgets.IntProgress(
            value=0,
            min=0,
            max=max(files_total, 1),
            description="0 / " + str(files_total),
            bar_style="info",
        )
        self.state = widgets.HTML("waiting for a worker")
        self.table = widgets.HTML("")
        report = urlsplit(upload.report_url)
        self.report = widgets.HTML(
            f"<a href='{escape(report.path)}?{escape(report.query)}' target='_blank' "
            "class='aphos-upload-report-link'>The job's report (executed notebook)</a>"
        )
        self.report.layout.display = "none"
        for w, name in [
            (self, "panel"),
            (self.title, "title"),
            (self.progress, "progress"),
            (self.state, "state"),
            (self.table, "outcomes"),
            (self.report, "report"),
        ]:
            w.add_class(f"aphos-upload-{name}")
        storing = widgets.HBox([widgets.HTML("Storing"), self.progress])
        super().__init__([self.title, storing, self.state, self.table, self.report])
        self.status: dict | None = None
        self._thread: threading.Thread | None = None

    def show(self, status: dict) -> None:
        """Show a status read from the api service."""
        self.status = status
        job = status.get("job") or {}
        total = job.get("files_total", len(status["files"]))
        done = job.get("files_done", total)
        self.progress.max = max(total, 1)
        self.progress.value = done
        self.progress.description = f"{done} / {total}"
        self.state.value = escape(summary_text(status))
        if job.get("state") in ENDED:
            self.progress.bar_style = "success" if job["state"] == "done" else "danger"
            self.table.value = outcome_html(status)
            self.report.layout.display = None if job.get("has_report") else "none"

    def follow(self, interval: float = 0.5, timeout: float = 3600.0) -> None:
        """Poll the status in the background until the job ends (or ``timeout``)."""

        def poll() -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    status = self.upload.status()
                except UploadError as e:  # the service restarting, a lost connection: try again
                    self.state.value = escape(f"could not read the status ({e}); retrying")
                    time.sleep(max(interval, 2.0))
                    continue
                self.show(status)
                if self.upload.ended(status):
                    return
                time.sleep(interval)

        self._thread = threading.Thread(target=poll, daemon=True, name=f"upload-{self.upload.id}")
        self._thread.start()

    def wait(self, timeout: float | None = None) -> dict | None:
        """Wait for the background polling to end; the last status seen."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status


class UploadWidget(widgets.VBox):
    """Pick SIPS files and send them to be stored; one :class:`UploadPanel` per upload.

    Parameters
    ----------
    client : UploadClient, optional
        How the kernel follows uploads; by default the api service and the observer's token
        from the kernel's environment.
    interval : float
        Seconds between two status reads while a job runs.
    api_url : str, optional
        The api service as the browser reaches it; by default
        :func:`aphos_lib.uploads.client.browser_api_url`.
    """

    def __init__(
        self,
        client: UploadClient | None = None,
        *,
        interval: float = 0.5,
        api_url: str | None = None,
    ):
        self._client = client
        self.interval = interval
        self.sender = BrowserSender(api_url or browser_api_url())
        self.message = widgets.HTML("")
        self.uploads = widgets.VBox([])
        self.panels: list[UploadPanel] = []
        for w, name in [(self, "widget"), (self.message, "message"), (self.uploads, "list")]:
            w.add_class(f"aphos-upload-{name}")
        self.sender.on_sent(self._sent)
        super().__init__([self.sender, self.message, self.uploads])

    @property
    def client(self) -> UploadClient:
        if self._client is None:
            self._client = UploadClient()
        return self._client

    def _sent(self, upload_id: int, job_id: int | None, files: int) -> None:
        # The browser has sent an upload: follow it as one sent from here.
        self.follow(Upload(self.client, upload_id, job_id), files)

    def follow(self, upload: Upload, files_total: int) -> UploadPanel:
        """Show an upload sent in a new panel and follow it until its job ends."""
        self.message.value = (
            f"Upload {upload.id} sent; it is stored by the platform's worker, "
            "so you may close this page and find it in your profile later."
        )
        panel = UploadPanel(upload, files_total)
        self.panels.insert(0, panel)
        self.uploads.children = tuple(self.panels)
        panel.follow(self.interval)
        return panel

    def send(self, files: list[tuple[str, bytes]]) -> UploadPanel | None:
        """Send ``files`` from the kernel as one upload and follow it in a new panel.

        For notebooks and tests; the page's Send button sends from the browser instead.

        Parameters
        ----------
        files : list of (name, bytes)

        Returns
        -------
        UploadPanel or None
            None when the api service refused the upload (the message says why).
        """
        if not files:
            self.message.value = "Choose one or more SIPS files (.csv) first."
            return None
        self.message.value = f"Sending {len(files)} file(s)..."
        try:
            upload = self.client.send(files, client="widget")
        except UploadError as e:
            why = escape(e.message)
            self.message.value = f"<span class='aphos-upload-error'>Not sent: {why}</span>"
            return None
        return self.follow(upload, len(files))
