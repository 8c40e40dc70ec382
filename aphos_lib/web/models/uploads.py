"""The bodies of the upload endpoints (``/api/v2/uploads``)."""

# No "from __future__ import annotations": pydantic reads the annotations at runtime.
import datetime as dt

from pydantic import Field

from aphos_lib.web.models import Body

__all__ = [
    "FileOutcome",
    "Job",
    "LogEntry",
    "ReceivedFile",
    "RejectedRow",
    "Session",
    "UploadAccepted",
    "UploadLog",
    "UploadStatus",
]


class ReceivedFile(Body):
    """A file as it was received."""

    position: int
    filename: str = Field(description="the client's name, kept as metadata")
    size_bytes: int
    sha256: str = Field(description="hex")


class UploadAccepted(Body):
    """An upload received and queued as one job."""

    upload_id: int
    job_id: int
    status_url: str
    report_url: str
    files: list[ReceivedFile]


class Session(Body):
    """What a page needs to send files with the browser's sign-in."""

    username: str | None = Field(description="null: no username chosen yet")
    profile_url: str
    upload_url: str
    xsrf: str = Field(description="echo it in the X-XSRFToken header (also set as a cookie)")
    max_files: int
    max_bytes: int


class LogEntry(Body):
    """One upload in the observer's log: counts and messages."""

    id: int
    created_at: dt.datetime
    finished_at: dt.datetime | None
    client: str
    state: str
    job_id: int | None
    job_state: str | None
    files_done: int
    files_total: int
    stored: int
    duplicates: int
    rejected: int
    fluxes: int
    matched: int
    unmatched: int
    rejected_rows: int
    messages: list[str]
    has_report: bool
    job_error: str | None
    status_url: str
    report_url: str


class UploadLog(Body):
    """A page of the observer's uploads, newest first."""

    total: int
    limit: int
    offset: int
    uploads: list[LogEntry]


class RejectedRow(Body):
    """A row of a file that was not stored, and why."""

    line: int
    reason: str


class FileOutcome(Body):
    """A file of an upload and what became of it (``status`` null until its job got to it)."""

    position: int
    filename: str
    size_bytes: int | None
    sha256: str | None
    status: str | None
    fluxes: int
    matched: int
    unmatched: int
    rejected_rows: list[RejectedRow] = Field(description="the first 1,000")
    rejected_count: int
    warnings: list[str] = Field(description="the first 1,000")
    warning_count: int
    error: str | None
    new_sources: int = Field(
        0,
        description="APhoS sources the file founded (unmatched rows "
        "at positions no source had yet)",
    )


class Job(Body):
    """The ingest job of an upload."""

    id: int
    state: str
    files_done: int
    files_total: int
    attempts: int
    error: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    has_report: bool


class UploadStatus(Body):
    """One upload: its state, its job's progress, each file's outcome."""

    id: int
    client: str
    state: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    job: Job | None
    files: list[FileOutcome]
    status_url: str
    report_url: str
