"""The upload widget: pick SIPS files, send them, follow each upload until it is stored.

Usable in any notebook and in the upload dashboard::

    from aphos_lib.widgets.upload import UploadWidget
    UploadWidget()

Each upload gets a panel with a progress bar (files done / files in the upload) that follows
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

from aphos_lib.uploads.client import ENDED, Upload, UploadClient, UploadError

__all__ = ["UploadPanel", "UploadWidget", "outcome_html", "summary_text"]

# The rejected rows the table lists of each file (the count says how many there were).
_LISTED_ROWS = 20
_STATUS_TEXT = {"stored": "stored", "duplicate": "already in the archive (nothing new stored)",
                "rejected": "rejected", None: "waiting"}  # fmt: skip


def summary_text(status: dict) -> str:
    """One line about an upload: its job's state and what its files became so far."""
    job = status.get("job") or {}
    files = status["files"]
    counts = {k: sum(f["status"] == k for f in files) for k in ("stored", "duplicate", "rejected")}
    fluxes = sum(f["fluxes"] for f in files)
    state = {"queued": "waiting for a worker", "running": "being stored", "done": "finished",
             "failed": "failed"}.get(job.get("state"), status["state"])  # fmt: skip
    parts = [f"{counts['stored']} stored ({fluxes:,} fluxes)"]
    if counts["duplicate"]:
        parts.append(f"{counts['duplicate']} duplicate")
    if counts["rejected"]:
        parts.append(f"{counts['rejected']} rejected")
    text = f"Upload {status['id']}: {state}; " + ", ".join(parts)
    return text + (f". {job['error']}" if job.get("error") else "")


def outcome_html(status: dict) -> str:
    """The per-file outcome table: status, fluxes, matched/unmatched, rejected rows, errors."""
    rows = []
    for f in status["files"]:
        count = f.get("rejected_count", len(f["rejected_rows"]))
        rejected = "".join(f"<li>line {r['line']}: {escape(str(r['reason']))}</li>"
                           for r in f["rejected_rows"][:_LISTED_ROWS])  # fmt: skip
        if count > _LISTED_ROWS:
            rejected += f"<li>{count - _LISTED_ROWS:,} more</li>"
        rows.append(
            f"<tr class='aphos-upload-file aphos-upload-{f['status'] or 'waiting'}'>"
            f"<td>{escape(f['filename'])}</td><td>{_STATUS_TEXT.get(f['status'], f['status'])}"
            f"</td><td>{f['fluxes']:,}</td><td>{f['matched']:,}</td><td>{f['unmatched']:,}</td>"
            f"<td>{count:,}{f'<ul>{rejected}</ul>' if rejected else ''}</td>"
            f"<td>{escape(f['error'] or '')}</td></tr>"
        )
    return ("<table class='aphos-upload-table'><thead><tr><th>file</th><th>outcome</th>"
            "<th>fluxes stored</th><th>matched</th><th>unmatched</th><th>rejected rows</th>"
            f"<th>message</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")  # fmt: skip


class UploadPanel(widgets.VBox):
    """One upload followed until its job ends: progress, then the outcome table."""

    def __init__(self, upload: Upload, files_total: int):
        self.upload = upload
        self.title = widgets.HTML(f"<b>Upload {upload.id}</b>: {files_total} file(s) sent")
        self.progress = widgets.IntProgress(value=0, min=0, max=max(files_total, 1),
                                            description="0 / " + str(files_total),
                                            bar_style="info")  # fmt: skip
        self.state = widgets.HTML("waiting for a worker")
        self.table = widgets.HTML("")
        report = urlsplit(upload.report_url)
        self.report = widgets.HTML(
            f"<a href='{escape(report.path)}?{escape(report.query)}' target='_blank' "
            "class='aphos-upload-report-link'>The job's report (executed notebook)</a>"
        )
        self.report.layout.display = "none"
        for w, name in [(self, "panel"), (self.title, "title"), (self.progress, "progress"),
                        (self.state, "state"), (self.table, "outcomes"),
                        (self.report, "report")]:  # fmt: skip
            w.add_class(f"aphos-upload-{name}")
        super().__init__([self.title, self.progress, self.state, self.table, self.report])
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
        By default the api service and the observer's token from the kernel's environment.
    interval : float
        Seconds between two status reads while a job runs.
    """

    def __init__(self, client: UploadClient | None = None, *, interval: float = 0.5):
        self._client = client
        self.interval = interval
        self.picker = widgets.FileUpload(accept=".csv", multiple=True,
                                         description="Choose SIPS files")  # fmt: skip
        self.send_button = widgets.Button(description="Send", button_style="primary",
                                          icon="upload", disabled=True)  # fmt: skip
        self.message = widgets.HTML("")
        self.uploads = widgets.VBox([])
        self.panels: list[UploadPanel] = []
        for w, name in [(self, "widget"), (self.picker, "picker"), (self.send_button, "send"),
                        (self.message, "message"), (self.uploads, "list")]:  # fmt: skip
            w.add_class(f"aphos-upload-{name}")
        self.picker.observe(self._picked, names="value")
        self.send_button.on_click(lambda _: self.send())
        super().__init__([widgets.HBox([self.picker, self.send_button]), self.message,
                          self.uploads])  # fmt: skip

    @property
    def client(self) -> UploadClient:
        if self._client is None:
            self._client = UploadClient()
        return self._client

    def _picked(self, change) -> None:
        files = change["new"]
        self.send_button.disabled = not files
        self.message.value = (
            f"{len(files)} file(s) chosen: {escape(', '.join(f['name'] for f in files))}"
            if files
            else ""
        )

    def send(self, files: list[tuple[str, bytes]] | None = None) -> UploadPanel | None:
        """Send the chosen files (or ``files``) as one upload and follow it in a new panel.

        Returns
        -------
        UploadPanel or None
            None when the api service refused the upload (the message says why).
        """
        if files is None:
            files = [(f["name"], bytes(f["content"])) for f in self.picker.value]
        if not files:
            self.message.value = "Choose one or more SIPS files (.csv) first."
            return None
        self.send_button.disabled = True
        self.message.value = f"Sending {len(files)} file(s)..."
        try:
            upload = self.client.send(files, client="widget")
        except UploadError as e:
            why = escape(e.message)
            self.message.value = f"<span class='aphos-upload-error'>Not sent: {why}</span>"
            self.send_button.disabled = not self.picker.value
            return None
        self.picker.value = ()
        self.message.value = (
            f"Upload {upload.id} sent; it is stored by the platform's worker, "
            "so you may close this page and find it in your profile later."
        )
        panel = UploadPanel(upload, len(files))
        self.panels.insert(0, panel)
        self.uploads.children = tuple(self.panels)
        panel.follow(self.interval)
        return panel
