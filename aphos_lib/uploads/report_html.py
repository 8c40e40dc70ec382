"""A job's report as a page to read: the executed ingest notebook without its code.

The worker keeps each job's executed notebook (``aphos_lib/jobs/ingest_sips.ipynb`` run by
papermill) as the job's record. An observer reads it as the notebook's text and outputs (the
per-file outcomes, rejected rows, errors) in the site's look: the code cells, which only call
:mod:`aphos_lib`, are left out. Outputs are converted as nbconvert converts them: text and
tracebacks escaped, HTML tables as the job made them (``outcome_table`` escapes every cell).
"""

from __future__ import annotations

from pathlib import Path

from aphos_lib.theme import html_page

__all__ = ["report_body", "report_page"]


def report_body(path: Path | str) -> str:
    """The notebook at ``path`` as HTML: its markdown and outputs, no code, no prompts."""
    # nbconvert is imported only when a report is read: it takes about a second to import.
    import nbformat
    from nbconvert import HTMLExporter

    # "basic": the cells only, no page, script or stylesheet of nbconvert's own; the page
    # around them is the site's (report_page).
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nbformat.read(path, as_version=4))
    return body


def report_page(path: Path | str, upload_id: int, *, log_url: str) -> str:
    """The page of upload ``upload_id``'s report, with a link back to the upload log.

    Parameters
    ----------
    path : Path or str
        The job's executed notebook.
    upload_id : int
    log_url : str
        The observer's upload log (a constant address of the platform).
    """
    back = (
        f"<p class='report-back'><a href='{log_url}#upload-{int(upload_id)}'>Back to "
        "your upload log</a></p>"
    )
    return html_page(
        f"Job report of upload {int(upload_id)}",
        f"<h1>Job report of upload {int(upload_id)}</h1>{back}"
        f"<div class='aphos-report'>{report_body(path)}</div>",
        signed_in=True,
    )
